// Registers dist/sw.js (written by the build; see vite.config.ts), which caches every file of the build so
// the page opens and runs with no network once it has been loaded.

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  // Relative to the page, so a page served from a sub-path registers its own worker.
  navigator.serviceWorker.register('./sw.js').catch((e: unknown) => {
    // Offline use is a convenience: the page works without it (e.g. on plain http from another host).
    console.warn('[hearth] offline cache unavailable:', e);
  });
}
