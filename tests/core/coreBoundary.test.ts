/**
 * The submission core runs unchanged in the phone and in Node (docs/apps.md "One submission
 * core"): it may import only protocol/, crypto/, yjs and y-websocket, and use no global that
 * only one side has. The shells bring storage and, in Node, the WebSocket constructor.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/processes.ts';

const CORE_DIR = join(REPO_ROOT, 'client', 'core');
const ALLOWED_IMPORT = /^(\.\/[A-Za-z]+\.ts|\.\.\/\.\.\/(protocol|crypto)\/index\.ts|yjs|y-websocket)$/;
/** Globals of one side only: the DOM's storage and page, and Node's modules and process. */
const ONE_SIDED_GLOBAL = /\b(window|document|localStorage|sessionStorage|indexedDB|navigator|location|process|Buffer|require)\b/;

const files = readdirSync(CORE_DIR).filter((name) => name.endsWith('.ts'));

it.each(files.map((name) => [name]))('client/core/%s imports only protocol/, crypto/, yjs, y-websocket and the core', (name) => {
  const source = readFileSync(join(CORE_DIR, name), 'utf8');
  const imports = [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((match) => match[1]);
  expect(imports.filter((path) => !ALLOWED_IMPORT.test(path ?? ''))).toEqual([]);
});

it.each(files.map((name) => [name]))('client/core/%s uses no DOM-only or Node-only global', (name) => {
  const code = readFileSync(join(CORE_DIR, name), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
  expect(code.split('\n').filter((line) => ONE_SIDED_GLOBAL.test(line))).toEqual([]);
});
