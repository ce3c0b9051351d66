/**
 * The storage contract of the submission core (storeContractCases.ts, the same cases as the
 * SQLite run) against the phone's IndexedDB implementations, in real Chromium: the cases and
 * client/lib/Idb*.ts are bundled by Vite into one script, served from a loopback page (a real
 * origin, so IndexedDB is the one a phone uses), and run there.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInChromium, launchChromium } from '../helpers/browser.ts';
import { removeTempDirs } from '../helpers/processes.ts';
import type { CaseOutcome } from './idbContractPage.ts';
import { SESSION_DOC_STORE_CASES, SUBMISSION_STORE_CASES } from './storeContractCases.ts';

async function bundleContractPage(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      write: false,
      minify: false,
      target: 'es2022',
      lib: { entry: fileURLToPath(new URL('./idbContractPage.ts', import.meta.url)), formats: ['iife'], name: 'storeContract', fileName: 'contract' },
    },
  });
  const outputs = Array.isArray(result) ? result : [result];
  for (const output of outputs) {
    if ('output' in output) {
      const chunk = output.output.find((file) => file.type === 'chunk');
      if (chunk && 'code' in chunk) return chunk.code;
    }
  }
  throw new Error('vite produced no script for the contract page');
}

function serve(script: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/contract.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>store contract</title><script src="/contract.js"></script>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describeInChromium('storage contract: IndexedDB (client/lib) in Chromium', () => {
  let server: Server | undefined;
  let context: BrowserContext | undefined;
  const outcomes = new Map<string, CaseOutcome>();

  beforeAll(async () => {
    server = await serve(await bundleContractPage());
    context = await launchChromium();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const results = await page.evaluate(() => (globalThis as unknown as { runStoreContract(): Promise<CaseOutcome[]> }).runStoreContract());
    for (const outcome of results) outcomes.set(outcome.id, outcome);
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    removeTempDirs();
  });

  for (const contractCase of [...SUBMISSION_STORE_CASES, ...SESSION_DOC_STORE_CASES]) {
    it(`[${contractCase.id}] ${contractCase.name}`, () => {
      const outcome = outcomes.get(contractCase.id);
      expect(outcome, 'the case ran in the page').toBeDefined();
      expect(outcome?.error).toBeUndefined();
    });
  }
});
