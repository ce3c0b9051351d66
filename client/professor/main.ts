import { mount } from 'svelte';
import Dashboard from './DashboardApp.svelte';
import './professor.css';

mount(Dashboard, { target: document.getElementById('app')! });
