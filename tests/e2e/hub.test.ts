// A model from the Hugging Face Hub, through the page's mirror setting pointed at a local server laid out like the
// Hub ({repo}/resolve/main/{file}): a download with progress that can be cancelled, one that completes and
// generates, a fine-tuning run from it, and a name the Hub does not know. Also a BPE tokenizer trained on the page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointToFiles, type HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import { parameterCount } from '../../src/core/model/families/index.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { elementCount } from '../../src/core/checkpoint/tensors.ts';
import { charLevelJson } from '../../src/core/tokenizer/tokenizer_json.ts';
import { formatCount } from '../../src/ui/format.ts';
import {
  dropFiles,
  screenshot,
  serveLocal,
  setArguments,
  trainToTheEnd,
  usePage,
  waitForFileTokens,
  type StaticServer,
} from './page.ts';

const CHARS = [...'abcdefghijklmnopqrstuvwxyz .'];

function tinyGpt2(): HearthCheckpoint {
  const config = makeGpt2Config({ vocab_size: CHARS.length + 2, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 });
  const weights: NamedTensors = new Map();
  let k = 0;
  for (const [name, shape] of modelParameterShapes(config))
    weights.set(name, { shape, data: Float32Array.from({ length: elementCount(shape) }, () => Math.sin(++k) * 0.05) });
  const tokenizer = charLevelJson(
    [...CHARS, '<|unk|>'],
    [{ id: CHARS.length + 1, content: '<|endoftext|>' }],
    '<|unk|>',
  );
  return { config, weights, tokenizer: { 'tokenizer.json': tokenizer } };
}

/** Serves `tiny/gpt2` whole, and `tiny/slow` whose weights trickle in (so a download can be cancelled). */
function serveHub(files: Map<string, Uint8Array>): Promise<StaticServer> {
  return serveLocal((req, res) => {
    const match = /^\/tiny\/(gpt2|slow)\/resolve\/main\/(.+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const cors = { 'Access-Control-Allow-Origin': '*' };
    const bytes = match ? files.get(match[2]) : undefined;
    if (!match || !bytes) {
      res.writeHead(404, { ...cors, 'x-error-code': match ? 'EntryNotFound' : 'RepoNotFound' }).end();
      return;
    }
    if (match[1] === 'slow' && match[2] === 'model.safetensors') {
      const total = 4 << 20;
      res.writeHead(200, { ...cors, 'Content-Length': total });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent >= total) return clearInterval(timer);
        res.write(new Uint8Array(16 << 10));
        sent += 16 << 10;
      }, 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { ...cors, 'Content-Length': bytes.length }).end(bytes);
  });
}

describe('models from the Hugging Face Hub (a local mirror)', () => {
  const ui = usePage({ gpu: true });
  let hub: StaticServer;
  const ckpt = tinyGpt2();

  beforeAll(async () => {
    hub = await serveHub(checkpointToFiles(ckpt));
  });
  afterAll(async () => {
    await hub?.close();
  });

  const dropLetters = () =>
    dropFiles(ui.page, '[data-testid="dropzone"]', [
      { name: 'letters.txt', content: 'the cat sat on the mat. the dog ate the log.\n'.repeat(80) },
    ]);

  it('trains a BPE tokenizer on the dropped files and sizes a new model by it', async () => {
    const { page } = ui;
    await dropLetters();
    await page.getByRole('radio', { name: /^BPE trained on these files/ }).check();
    await page.getByRole('textbox', { name: 'BPE vocabulary size' }).fill('300');
    const ready = page
      .getByTestId('tokenizer-status')
      .filter({ hasText: /Ready: BPE trained on your files \(\d+ tokens\)/ });
    await ready.waitFor({ timeout: 60_000 });
    const vocab = Number(/\((\d+) tokens\)/.exec(await ready.innerText())![1]);
    expect(vocab).toBeGreaterThan(257);
    expect(vocab).toBeLessThanOrEqual(300);
    expect(await page.getByTestId('model-panel').innerText()).toContain(`Vocabulary: ${vocab} tokens`);
    await waitForFileTokens(page);
    await screenshot(page, 'hub-01-bpe-tokenizer');
  });

  it('cancels a download in progress (from a mirror, which the page allows after a reload)', async () => {
    const { page } = ui;
    await page.getByRole('radio', { name: 'Hugging Face Hub' }).check();
    await page.getByTestId('model-panel').getByText('Mirror').click();
    await page.getByLabel('Hub address').fill(hub.url);
    await page.getByLabel('Model id on the Hub').fill('tiny/slow');
    await page.getByRole('button', { name: 'Download' }).click();
    // The page's security policy names the mirror only once it has reloaded; the download then goes on by itself.
    await page.getByTestId('hub-reload').getByRole('button', { name: 'Reload and download' }).click();
    const progress = page.getByTestId('hub-progress').filter({ hasText: /model\.safetensors: \d.* of 4\.2 MB/ });
    await progress.waitFor({ timeout: 60_000 });
    await screenshot(page, 'hub-02-downloading');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Download' }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('hub-progress').count()).toBe(0);
    expect(await page.getByTestId('hub-error').count()).toBe(0);
    await dropLetters(); // the reload let go of the files dropped before it
  });

  it('says so when the Hub has no such model', async () => {
    const { page } = ui;
    await page.getByLabel('Model id on the Hub').fill('nobody/nothing');
    await page.getByRole('button', { name: 'Download' }).click();
    const error = page.getByTestId('hub-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.innerText()).toMatch(/nobody\/nothing/);
  });

  it('downloads a model, generates from it, and fine-tunes it', async () => {
    const { page } = ui;
    await page.getByLabel('Model id on the Hub').fill('tiny/gpt2');
    await page.getByRole('button', { name: 'Download' }).click();
    const summary = page.getByTestId('model-summary');
    await summary.waitFor({ timeout: 60_000 });
    expect(await summary.innerText()).toContain(`${formatCount(parameterCount(ckpt.config))} parameters`);
    expect(await page.getByTestId('tokenizer-own').innerText()).toContain(`${CHARS.length + 2} tokens`);

    await page.getByTestId('prompt').fill('the ');
    await page.locator('#gen-max_new_tokens').fill('12');
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').waitFor({ timeout: 120_000 });
    expect((await page.getByTestId('sample').first().innerText()).startsWith('the ')).toBe(true);

    // The dropped file is counted again with the model's own tokenizer, then trained on.
    await waitForFileTokens(page);
    await setArguments(page, {
      max_steps: '3',
      per_device_train_batch_size: '2',
      block_size: '16',
      learning_rate: '0.01',
    });
    await trainToTheEnd(page);
    await page.getByTestId('checkpoint-row').filter({ hasText: 'tiny/gpt2' }).first().waitFor({ timeout: 60_000 });
    await screenshot(page, 'hub-03-fine-tuned');
    expect(ui.errors).toEqual([]);
  });
});
