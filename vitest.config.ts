import { defineConfig } from 'vitest/config';

// All tests are under tests/<part>/ (one place, per the project's style), in three projects
// (docs/testing.md): `unit` (pure code and in-process servers, no build, seconds), `integration`
// (real processes on loopback ports with temp data dirs) and `browser` (the built apps in real
// Chromium; only this project builds dist/client first, in its globalSetup). `npm test` runs all
// three; `npm run test:unit` (and :integration, :browser) one. Integration and browser tests
// start real processes, so they get generous timeouts and run files in parallel only as far as
// two cores allow.
const BROWSER = ['tests/browser/**/*.test.ts'];
const INTEGRATION = ['tests/integration/**/*.test.ts', 'tests/bench/bench.test.ts', 'tests/bench/campus.test.ts', 'tests/bench/interrupt.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    // Each file deletes the temporary folders its helpers made once its own hooks are done.
    setupFiles: ['tests/helpers/removeTempDirsAfterFile.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['tests/**/*.test.ts'], exclude: [...BROWSER, ...INTEGRATION] },
      },
      { extends: true, test: { name: 'integration', include: INTEGRATION } },
      {
        extends: true,
        // Builds dist/client (the apps) if missing or stale: browser tests drive the production build.
        test: { name: 'browser', include: BROWSER, globalSetup: ['tests/browser/globalSetup.ts'] },
      },
    ],
  },
});
