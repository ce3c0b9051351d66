/**
 * Builds the two browser apps from client/ into dist/client/:
 *   dist/client/index.html            student app (served by the relay at /), a PWA
 *   dist/client/professor/index.html  professor dashboard (served by the validator at /professor/)
 * Assets live under /assets/ for both (one process serves both in `rollcall start`).
 * The service worker's scope is the student app: it precaches the student shell only and
 * never answers for the dashboard, the API or the sync socket.
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { formatBundleReport, measureStudentBundle } from './client/scripts/bundleSize.ts';

const clientRoot = fileURLToPath(new URL('./client', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/client', import.meta.url));

/** Prints the student app's gzipped JS against its 150 KB budget at the end of every build. */
const studentBundleReport: Plugin = {
  name: 'rollcall-student-bundle-report',
  apply: 'build',
  closeBundle() {
    this.info(formatBundleReport(measureStudentBundle(outDir)));
  },
};

/**
 * vite-plugin-pwa links the manifest from every page it writes; the dashboard is not the
 * installable app, so its page loses the link once everything is written.
 */
const dashboardWithoutManifest: Plugin = {
  name: 'rollcall-dashboard-without-manifest',
  apply: 'build',
  closeBundle() {
    const page = join(outDir, 'professor', 'index.html');
    if (existsSync(page)) writeFileSync(page, readFileSync(page, 'utf8').replace(/\s*<link rel="manifest"[^>]*>/g, ''));
  },
};

export default defineConfig({
  root: clientRoot,
  base: '/',
  publicDir: 'public',
  build: {
    outDir,
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    rolldownOptions: {
      input: {
        student: fileURLToPath(new URL('./client/index.html', import.meta.url)),
        professor: fileURLToPath(new URL('./client/professor/index.html', import.meta.url)),
      },
    },
  },
  plugins: [
    svelte(),
    studentBundleReport,
    dashboardWithoutManifest,
    VitePWA({
      // The student app registers the worker itself (client/student/registerServiceWorker.ts),
      // so the dashboard page never gets one.
      injectRegister: false,
      registerType: 'autoUpdate',
      manifestFilename: 'manifest.webmanifest',
      manifest: {
        name: 'Rollcall',
        short_name: 'Rollcall',
        description: 'Mark your attendance by scanning the QR code in the room.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        background_color: '#ffffff',
        theme_color: '#0b3d91',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icon-512-maskable.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // The student shell and its lazy chunks (the camera scanner too, so a scan works offline).
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        globIgnores: ['professor/**', 'assets/professor-*', '.vite/**'],
        navigateFallback: '/index.html',
        // Never answer these from the cache: they are the live server (dashboard, API, sync, clock).
        navigateFallbackDenylist: [/^\/professor/, /^\/sync\//, /^\/time$/, /^\/qr\//, /^\/attendance\//, /^\/sessions/, /^\/api\//, /^\/events$/, /^\/statuses\//, /^\/report/, /^\/student_record/, /^\/roster/, /^\/courses/],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
});
