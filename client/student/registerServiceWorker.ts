/**
 * Registers the service worker built by vite-plugin-pwa (Workbox precache of the app shell), so
 * the app opens and takes a scan with no network. Browsers allow it only in a secure context
 * (HTTPS, or http://localhost); elsewhere the app still works online.
 */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
      // Not fatal: the app works online without it; the next load tries again.
    });
  });
}
