import { defineConfig } from 'vitest/config';

// Unit tests live beside nothing: all tests are under tests/<part>/ (one place, per STYLE.md).
// Integration and browser tests start real processes, so they get generous timeouts and
// run files in parallel only as far as two cores allow.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Builds dist/client (the apps) if missing or stale: browser tests drive the production build.
    globalSetup: ['tests/browser/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
