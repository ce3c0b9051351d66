#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's loader, so `npm start` needs no compile step.
import { register } from 'tsx/esm/api';

register();
await import('../main.ts');
