// The text layer of a PDF through pdfjs-dist. Its legacy build runs in Node (the modern one needs a newer Node)
// and in browsers alike, and is imported on first use, so only a PDF pays for loading it. PDF.js parses in a
// worker of its own. In Node it runs that code on this thread: importing the worker module sets
// globalThis.pdfjsWorker, where PDF.js finds it. In a browser, importing that module in a worker (the page's engine
// worker) would make it answer that worker's messages as PDF.js's own worker, so it runs in a worker of its own,
// started from the bundled file: same origin and precached with the rest of the page, nothing fetched from elsewhere.
import { isNode } from '../gpu/device.ts';
import { startModuleWorker } from '../util/module_worker.ts';
import { DataFileError } from './read_text.ts';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

let loading: Promise<PdfJs> | null = null;

function pdfjs(): Promise<PdfJs> {
  return (loading ??= (async () => {
    const lib = await import('pdfjs-dist/legacy/build/pdf.mjs');
    if (isNode()) {
      // A variable name keeps the bundler from copying the worker code into the page as a second, unused chunk.
      const workerModule = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
      await import(/* @vite-ignore */ workerModule);
    } else {
      // Started here, not by PDF.js: it reads window.location first, which a worker has not; and from a blob, so
      // that it lives under the page's Content-Security-Policy as every worker of the page does.
      const { default: url } = await import('pdfjs-dist/legacy/build/pdf.worker.mjs?worker&url');
      lib.GlobalWorkerOptions.workerPort = startModuleWorker(url, { name: 'pdf.js' });
    }
    return lib;
  })());
}

/** The text of every page, lines as PDF.js finds them, pages apart by a blank line. */
export async function pdfText(name: string, bytes: Uint8Array): Promise<string> {
  const lib = await pdfjs();
  const task = lib.getDocument({
    data: bytes.slice(), // PDF.js takes the buffer over
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  });
  let doc: Awaited<typeof task.promise>;
  try {
    doc = await task.promise;
  } catch (e) {
    await task.destroy().catch(() => undefined);
    const kind = (e as Error).name;
    if (kind === 'PasswordException')
      throw new DataFileError(name, 'is encrypted (it asks for a password): save a copy without protection to use it');
    throw new DataFileError(name, `is not a PDF that can be read (${(e as Error).message})`);
  }
  try {
    const pages: string[] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str;
        if (item.hasEOL) text += '\n';
      }
      page.cleanup();
      pages.push(text.trim());
    }
    const all = pages.filter((t) => t.length > 0).join('\n\n');
    if (!all)
      throw new DataFileError(
        name,
        `has no text layer on any of its ${doc.numPages} page(s): a scanned or image-only PDF (Hearth reads no text from images)`,
      );
    return all;
  } finally {
    await doc.destroy();
  }
}
