import { mount } from 'svelte';
import App from './App.svelte';
import { registerServiceWorker } from './registerServiceWorker.ts';
import './student.css';

mount(App, { target: document.getElementById('app')! });
registerServiceWorker();
