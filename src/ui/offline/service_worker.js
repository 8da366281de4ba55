// Hearth's service worker: keeps every file of this build in a cache, so that the page opens and trains
// with no network once it has been loaded. The build prepends BUILD_FILES (paths relative to this
// file) and CACHE_NAME (which changes whenever any file does); see vite.config.ts.
/* global BUILD_FILES, CACHE_NAME */

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE_NAME);
      await cache.addAll(BUILD_FILES);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith('hearth-') && key !== CACHE_NAME) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // The page itself comes from the network when it can (so a new build shows up), from the cache offline.
    event.respondWith(
      fetch(request).catch(async () => {
        const cached =
          (await caches.match(request, { ignoreSearch: true })) ?? (await caches.match(self.registration.scope));
        return cached ?? Response.error();
      }),
    );
    return;
  }
  // Every other file has a content hash in its name, so a cached copy is never stale.
  event.respondWith(caches.match(request).then((cached) => cached ?? fetch(request)));
});
