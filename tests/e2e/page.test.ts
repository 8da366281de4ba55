// The page as a person meets it: it finds the GPU, lists the presets with their sizes, takes dropped files,
// flags a bad training argument at its field, says plainly when there is no WebGPU, and opens offline.
import { zipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PRESETS, presetDims } from '../../src/core/model/presets.ts';
import { parameterCount } from '../../src/core/model/families/index.ts';
import { GPT2_VOCAB_SIZE } from '../../src/core/model/families/gpt2_config.ts';
import { loadGpt2Tokenizer } from '../../src/core/tokenizer/gpt2.ts';
import { formatBytes, formatCount, formatInteger } from '../../src/ui/format.ts';
import { dropFiles, launchBrowser, screenshot, serveDist, type Browser, type StaticServer } from './page.ts';

describe('the page in Chromium with WebGPU on SwiftShader', () => {
  let server: StaticServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await serveDist();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(() => {
    expect(browser.errors).toEqual([]);
  });

  it('opens and names the GPU it will train on', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Hearth', level: 1 }).waitFor();
    const gpu = page.getByTestId('gpu-status');
    await gpu.filter({ hasText: /swiftshader/i }).waitFor({ timeout: 120_000 });
    expect(await gpu.innerText()).toMatch(/GPU: .*swiftshader/i);
    expect(await page.getByTestId('no-webgpu').count()).toBe(0);
    await screenshot(page, '01-opened');
    // The details list the adapter's features (SwiftShader has subgroups and timestamp-query).
    await gpu.locator('summary').click();
    expect(await gpu.innerText()).toMatch(/Features:.*(subgroups|timestamp-query|none)/s);
    await screenshot(page, '02-gpu-details');
    await gpu.locator('summary').click();
  });

  it('lists every preset with its parameter count and training memory', async () => {
    const { page } = browser;
    for (const preset of PRESETS) {
      const row = page.getByTestId(`preset-${preset.id}`);
      const params = formatCount(parameterCount(presetDims(preset.id, GPT2_VOCAB_SIZE)));
      expect(await row.getByTestId('preset-params').innerText()).toBe(params);
      expect(await row.innerText()).toMatch(/\d(\.\d)? [KMG]B to train/);
    }
    // Choosing a preset by keyboard moves the selection and the memory estimate follows.
    const before = await page.getByTestId('memory-total').innerText();
    await page.getByTestId('preset-tiny').locator('input').focus();
    await page.keyboard.press('ArrowUp');
    expect(await page.getByTestId('preset-toy').locator('input').isChecked()).toBe(true);
    expect(await page.getByTestId('memory-total').innerText()).not.toBe(before);
    expect(await page.locator('#arg-block_size').inputValue()).toBe('64');
    await screenshot(page, '03-presets');
  });

  it('lists dropped files with their sizes and token counts, Chinese names included', async () => {
    const { page } = browser;
    const english = 'The quick brown fox jumps over the lazy dog.\n'.repeat(30);
    const chinese = '今天天气很好,我们可以去公园散步。\n'.repeat(40);
    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'fox.txt', content: english, lastModified: 1_700_000_000_000 },
      { name: '天气.txt', content: chinese },
    ]);
    const rows = page.getByTestId('file-row');
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).getByTestId('file-name').innerText()).toBe('fox.txt');
    expect(await rows.nth(0).getByTestId('file-size').innerText()).toBe(formatBytes(Buffer.byteLength(english)));
    expect(await rows.nth(1).getByTestId('file-name').innerText()).toBe('天气.txt');
    expect(await rows.nth(1).getByTestId('file-size').innerText()).toBe(formatBytes(Buffer.byteLength(chinese)));
    // Token counts are GPT-2's, as the core's tokenizer counts them here in Node.
    const gpt2 = await loadGpt2Tokenizer();
    const tokens = [english, chinese].map((t) => formatInteger(gpt2.encode(t).length));
    await page.getByTestId('total-tokens').filter({ hasText: /[1-9]/ }).waitFor({ timeout: 120_000 });
    expect(await rows.nth(0).getByTestId('file-tokens').innerText()).toBe(tokens[0]);
    expect(await rows.nth(1).getByTestId('file-tokens').innerText()).toBe(tokens[1]);
    await screenshot(page, '04-files-dropped');
    // The same file dropped twice is listed once; a file can be removed.
    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'fox.txt', content: english, lastModified: 1_700_000_000_000 },
    ]);
    await page.getByRole('button', { name: 'Remove fox.txt' }).click();
    expect(await rows.count()).toBe(1);
  });

  it('refuses a binary file and says why', async () => {
    const { page } = browser;
    const png = Uint8Array.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0,
    ]);
    await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'picture.png', content: png, type: 'image/png' }]);
    const row = page.getByTestId('file-row').filter({ hasText: 'picture.png' });
    const refusal = row.getByTestId('file-refusal');
    await refusal.waitFor({ timeout: 60_000 });
    expect(await refusal.innerText()).toMatch(/binary/);
    expect(await row.getByTestId('file-tokens').innerText()).toBe('refused');
    await screenshot(page, '05-binary-refused');
    await page.getByRole('button', { name: 'Remove picture.png' }).click();

    // A zip on the data area points to importing it; on the checkpoints panel it is imported (this one is no
    // checkpoint, so the import is refused with the file named).
    const zip = zipSync({ 'notes/config.json': new TextEncoder().encode('{"model_type": "gpt2"}') });
    await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'notes.zip', content: zip, type: 'application/zip' }]);
    const zipRow = page.getByTestId('file-row').filter({ hasText: 'notes.zip' });
    await zipRow.getByTestId('file-refusal').waitFor({ timeout: 60_000 });
    expect(await zipRow.getByTestId('file-refusal').innerText()).toMatch(/zip archive.*imported as a model/);
    await page.getByRole('button', { name: 'Remove notes.zip' }).click();
    await dropFiles(page, '[data-testid="checkpoints-panel"]', [
      { name: 'notes.zip', content: zip, type: 'application/zip' },
    ]);
    const error = page.getByTestId('checkpoints-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.innerText()).toMatch(/notes\.zip was not imported/);
  });

  it('flags an invalid training argument at its field', async () => {
    const { page } = browser;
    const lr = page.locator('#arg-learning_rate');
    expect(await lr.inputValue()).toBe('5e-5');
    await lr.fill('-1');
    const field = page.getByTestId('field-learning_rate');
    expect(await field.getByTestId('problem').innerText()).toMatch(/must be a number > 0, got -1/);
    expect(await lr.getAttribute('aria-invalid')).toBe('true');
    await page.locator('#arg-block_size').fill('500');
    expect(await page.getByTestId('field-block_size').getByTestId('problem').innerText()).toMatch(/n_positions \(64\)/);
    await screenshot(page, '06-invalid-arguments');
    await page.getByRole('button', { name: 'Restore Hugging Face defaults' }).click();
    expect(await page.getByTestId('problem').count()).toBe(0);
  });

  it('fits a narrow window', async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 390, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, '07-narrow');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('opens again from its cache once the server is gone', async () => {
    const { page } = browser;
    // The service worker has cached the build; then the server goes away and the page is reloaded.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await server.close();
    await page.reload();
    await page.getByTestId('preset-toy').waitFor();
    await page
      .getByTestId('gpu-status')
      .filter({ hasText: /swiftshader/i })
      .waitFor({ timeout: 120_000 });
    await screenshot(page, '08-offline');
  });
});

describe('the page in a browser without WebGPU', () => {
  it('says so plainly, and the rest of the page still works', async () => {
    const server = await serveDist();
    // What a browser without WebGPU looks like to the page: no navigator.gpu.
    const browser = await launchBrowser({
      initScripts: ['Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined, configurable: true });'],
      colorScheme: 'dark',
    });
    try {
      const { page } = browser;
      await page.goto(server.url);
      const notice = page.getByTestId('no-webgpu');
      await notice.waitFor();
      expect(await notice.innerText()).toMatch(/enable-unsafe-webgpu/);
      expect(await page.getByTestId('gpu-status').innerText()).toMatch(/No WebGPU/);
      expect(await page.getByTestId('preset-params').count()).toBe(PRESETS.length);
      await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'a.txt', content: 'hello\n' }]);
      await page.getByTestId('file-row').waitFor();
      await screenshot(page, '09-no-webgpu-dark');
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
