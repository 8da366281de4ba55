// The page's Content-Security-Policy, enforced by Chromium: a request to any other origin is refused, from the page
// and from its workers, before it leaves; a Hub mirror the user chooses is allowed after the reload that installs it,
// and still nothing else.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveLocal, usePage, type StaticServer } from './page.ts';

/** A server that counts what reaches it and answers everyone (CORS included), so only the policy can stop a request. */
async function countingServer(): Promise<StaticServer & { hits: string[] }> {
  const hits: string[] = [];
  const server = await serveLocal((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(404, { 'Access-Control-Allow-Origin': '*', 'x-error-code': 'RepoNotFound' }).end();
  });
  return { ...server, hits };
}

/** Tries a fetch from the page and from the engine worker; says 'sent' (an answer came) or 'refused' for each. */
async function tryFetch(page: Page, url: string): Promise<{ page: string; worker: string }> {
  const attempt = `fetch(${JSON.stringify(url)}).then(() => 'sent', () => 'refused')`;
  const worker = await engineWorker(page);
  return { page: await page.evaluate(attempt), worker: await worker.evaluate(attempt) };
}

async function engineWorker(page: Page) {
  for (const w of page.workers()) if ((await w.evaluate(() => self.name)) === 'hearth-engine') return w;
  throw new Error('no engine worker');
}

function policyOf(page: Page): Promise<string | null> {
  return page.evaluate(
    () => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
  );
}

describe('the Content-Security-Policy', () => {
  const ui = usePage({ gpu: true });
  let elsewhere: Awaited<ReturnType<typeof countingServer>>;
  let mirror: Awaited<ReturnType<typeof countingServer>>;

  beforeAll(async () => {
    elsewhere = await countingServer();
    mirror = await countingServer();
  });
  afterAll(async () => {
    for (const s of [elsewhere, mirror]) await s?.close();
  });

  it('is in force from the start, allowing connections to the page itself and to the Hub only', async () => {
    const policy = await policyOf(ui.page);
    expect(policy).toMatch(/^default-src 'none'; script-src 'self';/);
    expect(policy).toContain("connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co;");
    expect(policy).toContain("worker-src 'self' blob:");
    // The page's own files still load (the policy is not in the way of the page).
    expect(await tryFetch(ui.page, `${ui.url}favicon.svg`)).toEqual({ page: 'sent', worker: 'sent' });
  });

  it('refuses a request to another origin from the page and from its workers, before it leaves', async () => {
    const { page } = ui;
    await page.evaluate(() => {
      const w = window as unknown as { violations: string[] };
      w.violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.violations.push(`${e.effectiveDirective} ${e.blockedURI}`),
      );
    });
    expect(await tryFetch(page, `${elsewhere.url}/beacon`)).toEqual({ page: 'refused', worker: 'refused' });
    // Other ways out: an image, a beacon, a WebSocket.
    await page.evaluate(async (url) => {
      await new Promise((done) => {
        const img = new Image();
        img.onload = img.onerror = done;
        img.src = `${url}/pixel.png`;
      });
      navigator.sendBeacon(`${url}/beacon`, 'x');
      try {
        new WebSocket(url.replace('http', 'ws'));
      } catch {
        // refused at once
      }
    }, elsewhere.url);
    const violations = await page.evaluate(() => (window as unknown as { violations: string[] }).violations);
    expect(violations).toEqual(
      expect.arrayContaining([`connect-src ${elsewhere.url}/beacon`, `img-src ${elsewhere.url}/pixel.png`]),
    );
    expect(elsewhere.hits).toEqual([]);
  });

  it('allows a mirror the user chooses once the page has reloaded with it, and still nothing else', async () => {
    const { page } = ui;
    await page.getByRole('radio', { name: 'Hugging Face Hub' }).check();
    await page.getByTestId('model-panel').getByText('Mirror').click();
    await page.getByLabel('Hub address').fill(mirror.url);
    await page.getByLabel('Model id on the Hub').fill('tiny/none');
    await page.getByRole('button', { name: 'Download' }).click();
    const notice = page.getByTestId('hub-reload');
    await notice.waitFor({ timeout: 30_000 });
    expect(await notice.innerText()).toContain(mirror.url);
    expect(mirror.hits).toEqual([]);

    await notice.getByRole('button', { name: 'Reload and download' }).click();
    // The new page's policy names the mirror, and the download it was asked for goes on by itself.
    const error = page.getByTestId('hub-error');
    await error.waitFor({ timeout: 120_000 });
    expect(await error.innerText()).toMatch(/tiny\/none/);
    expect(mirror.hits.length).toBeGreaterThan(0);
    expect(await policyOf(page)).toContain(`https://*.hf.co ${mirror.url};`);
    expect(await page.getByLabel('Hub address').inputValue()).toBe(mirror.url);
    expect(await tryFetch(page, `${elsewhere.url}/beacon`)).toEqual({ page: 'refused', worker: 'refused' });
    expect(elsewhere.hits).toEqual([]);
  });
});
