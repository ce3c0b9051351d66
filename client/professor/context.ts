import { getContext, setContext } from 'svelte';
import type { Dashboard } from './Dashboard.svelte.ts';

const KEY = Symbol('dashboard');

export function setDashboardContext(dashboard: Dashboard): void {
  setContext(KEY, dashboard);
}

export function getDashboardContext(): Dashboard {
  return getContext<Dashboard>(KEY);
}
