// Module workers that live under the page's Content-Security-Policy. A worker loaded from its own URL takes the
// policy of its own response, and a static host sends none; a worker loaded from a blob: URL takes its creator's.
// So the worker starts from a one-line blob that imports the real module (whose own imports resolve as usual).

/** Starts the module at `url` (a bundled worker's URL, e.g. from `import url from './worker.ts?worker&url'`). */
export function startModuleWorker(url: string, options: { name?: string } = {}): Worker {
  const source = `import ${JSON.stringify(new URL(url, location.href).href)};\n`;
  const blobUrl = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl, { type: 'module', name: options.name });
  // The worker fetched the blob before it could answer or fail; the URL is not needed after that.
  const release = () => URL.revokeObjectURL(blobUrl);
  worker.addEventListener('message', release, { once: true });
  worker.addEventListener('error', release, { once: true });
  return worker;
}
