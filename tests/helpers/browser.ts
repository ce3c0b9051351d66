/**
 * Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core, with
 * the flags of docs/testing.md "Measured facts". In CI (CI=true) a missing Chromium fails the
 * run loudly; on a machine without it and without CI the browser tests skip with one clear line.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { REPO_ROOT, tempDir } from './processes.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts', 'browser');

const BASE_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const isCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * `describe` when Chromium is there; otherwise throws under CI, or skips with a reason.
 * `requirement` adds another precondition (e.g. a part of the system not in the repo yet).
 */
export function describeInChromium(name: string, body: () => void, requirement?: () => string | undefined): void {
  if (!existsSync(CHROMIUM_PATH)) {
    if (isCi) throw new Error(`browser tests need Chromium at ${CHROMIUM_PATH} (CI=true): install it (apt-get install chromium) or set CHROMIUM_PATH`);
    console.warn(`SKIPPED browser tests "${name}": no Chromium at ${CHROMIUM_PATH} (install it: apt-get install chromium)`);
    describe.skip(name, body);
    return;
  }
  const missing = requirement?.();
  if (missing) {
    console.warn(`SKIPPED browser tests "${name}": ${missing}`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

export interface LaunchOptions {
  /** Extra Chromium flags (e.g. the fake camera). */
  args?: string[];
  viewport?: { width: number; height: number };
  /** Mobile emulation (touch, device scale) for the phone viewport. */
  isMobile?: boolean;
  /** HOME for Chromium: its $HOME/.pki/nssdb says which CAs it trusts (tests/helpers/https.ts). */
  home?: string;
}

/** A fresh persistent profile (service workers and IndexedDB behave as on a real device). */
export async function launchChromium(options: LaunchOptions = {}): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(tempDir('rollcall-chromium-'), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...BASE_ARGS, ...(options.args ?? [])],
    viewport: options.viewport ?? { width: 390, height: 844 },
    ...(options.home ? { env: { ...process.env, HOME: options.home } } : {}),
    ...(options.isMobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  context.setDefaultTimeout(30_000);
  return context;
}

/** Keeps a screenshot as a test artifact: test-artifacts/browser/<name>.png (gitignored). */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Collects console errors and page errors, so a test can show them when it fails. */
export function recordPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}
