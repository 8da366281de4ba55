// The end-to-end harness: serve the built page (dist/) on 127.0.0.1, drive Debian's Chromium with WebGPU on
// SwiftShader (the flags of shared/WEBGPU_ON_CPU.md), drop files as a person would, and keep screenshots.
import { createServer, type RequestListener } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST = join(ROOT, 'dist');
export const SCREENSHOTS = join(ROOT, 'test-results', 'e2e');
export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

/** Exactly the flags that give headless Chromium a WebGPU adapter on SwiftShader (see WEBGPU_ON_CPU.md). */
export const WEBGPU_ON_CPU_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export interface StaticServer {
  url: string;
  /** stops answering at once (open keep-alive connections included), as a server that went away */
  close(): Promise<void>;
}

/** A static file server for dist/ on 127.0.0.1 at a free port: what any web host would do with the build. */
export async function serveDist(root = DIST): Promise<StaticServer> {
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`${root}/index.html is missing: run \`npx vite build\` before the end-to-end tests`);
  }
  const base = resolve(root);
  const server = await serveLocal((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = resolve(base, `.${path}`);
      if (file !== base && !file.startsWith(base + sep)) {
        res.writeHead(403).end();
        return;
      }
      try {
        if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
        const body = await readFile(file);
        res.writeHead(200, {
          'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
          'Content-Length': body.length,
          'Cache-Control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
      }
    })();
  });
  return { url: `${server.url}/`, close: server.close };
}

/** A server of a test's own on 127.0.0.1 at a free port: a Hub mirror, or a host the page must never reach. */
export async function serveLocal(handler: RequestListener): Promise<StaticServer> {
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('local server has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Waits until the page has found its GPU (SwiftShader on a machine without one). */
export async function waitForGpu(page: Page): Promise<void> {
  await page
    .getByTestId('gpu-status')
    .filter({ hasText: /swiftshader/i })
    .waitFor({ timeout: 120_000 });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** uncaught exceptions and console errors seen so far, in order */
  errors: string[];
  close(): Promise<void>;
}

export interface BrowserOptions {
  /** scripts run in every page before its own (e.g. to take WebGPU away) */
  initScripts?: string[];
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

/** Debian's Chromium with WebGPU on SwiftShader and a fresh profile (--user-data-dir) of its own. */
export async function launchBrowser(options: BrowserOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set HEARTH_CHROMIUM)`);
  const profile = await mkdtemp(join(tmpdir(), 'hearth-e2e-profile-'));
  // Playwright passes --user-data-dir itself for a persistent context (it refuses the flag in args); headless
  // stays off here because --headless=new is among our flags.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: false,
    args: WEBGPU_ON_CPU_FLAGS,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
    acceptDownloads: true,
  });
  for (const script of options.initScripts ?? []) await context.addInitScript(script);
  const errors: string[] = [];
  const watch = (page: Page): void => {
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as test-results/e2e/NAME.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface FileToDrop {
  name: string;
  content: string | Uint8Array;
  type?: string;
  /** ms since 1970; a file dropped twice from disk has the same one */
  lastModified?: number;
}

/** Drops files on an element as a drag from the desktop does: dragenter, dragover, drop with a DataTransfer. */
export async function dropFiles(page: Page, selector: string, files: FileToDrop[]): Promise<void> {
  const payload = files.map((f) => ({
    name: f.name,
    type: f.type ?? (typeof f.content === 'string' ? 'text/plain' : 'application/octet-stream'),
    base64: Buffer.from(f.content).toString('base64'),
    lastModified: f.lastModified ?? Date.now(),
  }));
  await page.locator(selector).evaluate((target, list) => {
    const transfer = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], f.name, { type: f.type, lastModified: f.lastModified }));
    }
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
    }
  }, payload);
}

/** The page of a describe block, open for its tests (usePage). */
export interface OpenPage {
  /** the served build's address */
  url: string;
  page: Page;
  context: BrowserContext;
  /** uncaught exceptions and console errors seen so far, in order */
  errors: string[];
}

export interface UsePageOptions extends BrowserOptions {
  /** wait until the page has found its GPU before the tests start */
  gpu?: boolean;
  /** runs once the browser is up, before the page is opened (e.g. to watch its requests) */
  beforeOpen?(context: BrowserContext): void;
}

/**
 * For a describe block: before its tests, serves dist/, launches Chromium and opens the page (waiting for its GPU with
 * `gpu`); after them, closes both. The returned object is filled in when the tests run.
 */
export function usePage(options: UsePageOptions = {}): OpenPage {
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  const open = {} as OpenPage;
  beforeAll(async () => {
    server = await serveDist();
    browser = await launchBrowser(options);
    options.beforeOpen?.(browser.context);
    Object.assign(open, { url: server.url, page: browser.page, context: browser.context, errors: browser.errors });
    await browser.page.goto(server.url);
    if (options.gpu) await waitForGpu(browser.page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return open;
}

/**
 * Sets training arguments by their names (the fields #arg-NAME), opening closed groups first; throws with the panel's
 * problems when the values leave any, unless `problemsExpected`.
 */
export async function setArguments(
  page: Page,
  values: Record<string, string>,
  problemsExpected = false,
): Promise<void> {
  const closed = page.getByTestId('args-panel').locator('details:not([open]) > summary');
  while ((await closed.count()) > 0) await closed.first().click();
  for (const [name, value] of Object.entries(values)) {
    const field = page.locator(`#arg-${name}`);
    if ((await field.evaluate((el) => el.tagName)) === 'SELECT') await field.selectOption(value);
    else await field.fill(value);
  }
  if (problemsExpected) return;
  const problems = await page.getByTestId('args-panel').getByTestId('problem').allInnerTexts();
  if (problems.length > 0) throw new Error(`training arguments refused: ${problems.join('; ')}`);
}

/** Waits until the dropped file (one) shows its token count. */
export async function waitForFileTokens(page: Page): Promise<void> {
  await page
    .getByTestId('file-tokens')
    .filter({ hasText: /^[1-9][\d,]*$/ })
    .waitFor({ timeout: 60_000 });
}

/** Starts training and waits until the run has finished. */
export async function trainToTheEnd(page: Page): Promise<void> {
  await page.getByTestId('start-training').click();
  await page.getByTestId('run-status').filter({ hasText: 'Finished' }).waitFor({ timeout: 300_000 });
}
