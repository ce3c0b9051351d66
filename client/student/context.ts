import { getContext, setContext } from 'svelte';
import type { StudentApp } from './StudentApp.svelte.ts';

const KEY = Symbol('student-app');

export function setStudentAppContext(app: StudentApp): void {
  setContext(KEY, app);
}

export function getStudentAppContext(): StudentApp {
  return getContext<StudentApp>(KEY);
}
