// Importing a model where it is chosen: a zip imported in the Model panel becomes the current model (its family,
// parameters and tokenizer shown; Generate ready), the same zip imported again is recognised and not stored twice, a
// checkpoint row's Use makes it the model, and at a phone's width each checkpoint is a card with its figures and
// buttons in view.
import { describe, expect, it } from 'vitest';
import { checkpointToZip } from '../../src/core/checkpoint/archive.ts';
import type { HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import { elementCount } from '../../src/core/checkpoint/tensors.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { parameterCount } from '../../src/core/model/families/index.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { charLevelJson } from '../../src/core/tokenizer/tokenizer_json.ts';
import { concatBytes } from '../../src/core/util/bytes.ts';
import { formatCount } from '../../src/ui/format.ts';
import { screenshot, usePage } from './page.ts';

/** A one-layer GPT-2 over the letters a–h; `seed` varies its weights, so that two of them are two checkpoints. */
function letterModel(seed: number): HearthCheckpoint {
  const config = makeGpt2Config({ vocab_size: 10, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 });
  const weights: NamedTensors = new Map();
  let k = seed;
  for (const [name, shape] of modelParameterShapes(config))
    weights.set(name, { shape, data: Float32Array.from({ length: elementCount(shape) }, () => Math.cos(++k) * 0.2) });
  const tokens = [...'abcdefgh', '<|unk|>', '<|endoftext|>'];
  const special = [
    { id: 8, content: '<|unk|>' },
    { id: 9, content: '<|endoftext|>' },
  ];
  return { config, weights, tokenizer: { 'tokenizer.json': charLevelJson(tokens, special, '<|unk|>') } };
}

const zipFile = (name: string, ckpt: HearthCheckpoint) => ({
  name: `${name}.zip`,
  mimeType: 'application/zip',
  buffer: Buffer.from(concatBytes(checkpointToZip(ckpt, name))),
});

describe('importing a model in the page', () => {
  const ui = usePage({ gpu: true });

  it('imports a zip in the Model panel and makes it the model, its family, size and tokenizer shown', async () => {
    const { page } = ui;
    const generate = page.getByTestId('generate-panel');
    expect(await generate.innerText()).toMatch(/Train a model first/);
    await page.getByRole('radio', { name: 'Saved checkpoint' }).check();
    await page.getByTestId('model-zip-input').setInputFiles(zipFile('letters-a', letterModel(1)));
    const summary = page.getByTestId('model-summary');
    await summary.filter({ hasText: 'letters-a' }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('model-summary-family').innerText()).toBe('GPT-2');
    expect(await page.getByTestId('model-summary-params').innerText()).toBe(
      formatCount(parameterCount(letterModel(1).config)),
    );
    expect(await page.getByTestId('model-summary-tokenizer').innerText()).toMatch(/10/);
    expect(await page.getByTestId('checkpoint-choice').inputValue()).not.toBe('');
    expect(await generate.innerText()).not.toMatch(/Train a model first/);
    expect(await page.getByTestId('generate').isDisabled()).toBe(false);
    const row = page.getByTestId('checkpoint-row').filter({ hasText: 'letters-a' });
    expect(await row.getByTestId('checkpoint-family').innerText()).toBe('GPT-2');
    expect(await row.innerText()).toContain('current model');

    await page.getByTestId('prompt').fill('abc');
    // a fixed seed: with a fresh one, about one sample in ten would end at once on the 10-token vocabulary's
    // <|endoftext|>, leaving nothing after the prompt
    await page.locator('#gen-seed').fill('3');
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('generation-message').innerText()).toMatch(/seed 3/);
    expect((await page.getByTestId('sample').first().innerText()).length).toBeGreaterThan(3);
    await page.getByTestId('model-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'model-import-01-current');
  });

  it('says so when the same zip is imported again, and stores it once', async () => {
    const { page } = ui;
    await page.getByTestId('checkpoint-zip-input').setInputFiles(zipFile('letters-a', letterModel(1)));
    const notice = page.getByTestId('checkpoints-notice');
    await notice.waitFor({ timeout: 60_000 });
    expect(await notice.innerText()).toMatch(/letters-a\.zip was imported before, as “letters-a”/);
    expect(await page.getByTestId('checkpoint-row').count()).toBe(1);
    // From the Model panel too, where the message is shown beside its buttons.
    await page.getByTestId('model-zip-input').setInputFiles(zipFile('letters-a', letterModel(1)));
    await page.getByTestId('model-import-notice').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('checkpoints-notice').count()).toBe(0);
    expect(await page.getByTestId('checkpoint-row').count()).toBe(1);
  });

  it('makes a listed checkpoint the model with its Use button', async () => {
    const { page } = ui;
    await page.getByTestId('checkpoint-zip-input').setInputFiles(zipFile('letters-b', letterModel(2)));
    const summary = page.getByTestId('model-summary');
    await summary.filter({ hasText: 'letters-b' }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('checkpoint-row').count()).toBe(2);
    expect(await page.getByRole('button', { name: 'Use letters-b as the model' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Use letters-a as the model' }).click();
    await summary.filter({ hasText: 'letters-a' }).waitFor({ timeout: 60_000 });
    const current = page.getByTestId('checkpoint-row').filter({ hasText: 'current model' });
    expect(await current.getByTestId('checkpoint-name').innerText()).toBe('letters-a');
    expect(ui.errors).toEqual([]);
  });

  it('shows each checkpoint as a card at 390 px: step, eval loss, size, saved and its buttons in view', async () => {
    const { page } = ui;
    await page.setViewportSize({ width: 390, height: 844 });
    const row = page.getByTestId('checkpoint-row').filter({ hasText: 'letters-b' });
    await row.scrollIntoViewIfNeeded();
    const text = await row.innerText();
    for (const label of ['Step', 'Eval loss', 'Size', 'Saved', 'GPT-2']) expect(text).toContain(label);
    for (const name of ['Export letters-b as a zip', 'Delete letters-b', 'Use letters-b as the model']) {
      const button = page.getByRole('button', { name });
      expect(await button.isVisible(), name).toBe(true);
      const box = (await button.boundingBox())!;
      expect(box.x, name).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, name).toBeLessThanOrEqual(390);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await screenshot(page, 'model-import-02-cards-390');
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
