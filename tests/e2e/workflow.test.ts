// The whole workflow as a person goes through it, in Chromium with WebGPU on SwiftShader: drop a text file, choose
// the toy preset with a character tokenizer (a tiny model: SwiftShader is slow), train a few steps and watch the
// progress and the loss chart move, generate, reload and find the checkpoints, export one and check the zip, import
// it back, with not one request off the page's own origin in all of that; then a run interrupted by a reload and
// resumed, paused for a generation, and stopped; a run whose loss becomes NaN; and a lost GPU, restarted from the
// last checkpoint.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import { parseModelConfig } from '../../src/core/model/families/index.ts';
import { parseSafetensorsHeader } from '../../src/core/checkpoint/safetensors.ts';
import { unzip } from '../../src/core/checkpoint/zip.ts';
import { dropFiles, screenshot, setArguments, trainToTheEnd, usePage, waitForFileTokens, waitForGpu } from './page.ts';

const TEXT = 'The quick brown fox jumps over the lazy dog. 今天天气很好,我们可以去公园散步。\n'.repeat(60);
/** Distinct characters of TEXT, plus <|unk|> and <|endoftext|>: the character tokenizer's vocabulary. */
const CHAR_VOCAB = new Set([...TEXT]).size + 2;

/** Small steps (2 blocks of 32 tokens) keep SwiftShader's steps around a second. */
const SMALL_RUN = {
  per_device_train_batch_size: '2',
  per_device_eval_batch_size: '4',
  block_size: '32',
  learning_rate: '0.01',
};

/** Drops the text, picks the toy preset and the character tokenizer, and waits until the file is counted. */
async function prepareToyRun(page: Page, args: Record<string, string>): Promise<void> {
  await waitForGpu(page);
  await dropFiles(page, '[data-testid="dropzone"]', [
    { name: 'fox-天气.txt', content: TEXT, lastModified: 1_700_000_000_000 },
  ]);
  await page.getByRole('radio', { name: 'New model' }).check();
  await page.getByTestId('preset-toy').click();
  await page.getByRole('radio', { name: 'Characters of these files' }).check();
  await page
    .getByTestId('tokenizer-status')
    .filter({ hasText: `Ready: characters of your files (${CHAR_VOCAB} tokens)` })
    .waitFor({ timeout: 60_000 });
  await waitForFileTokens(page);
  await setArguments(page, { ...SMALL_RUN, ...args });
}

const status = (page: Page) => page.getByTestId('run-status');
const stepShown = async (page: Page) => Number((await page.getByTestId('run-step').innerText()).replace(/,/g, ''));

async function waitForStep(page: Page, atLeast: number): Promise<void> {
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="run-step"]')?.textContent?.replace(/,/g, '')) >= n,
    atLeast,
    { timeout: 300_000 },
  );
}

async function waitForSaves(page: Page, atLeast: number): Promise<void> {
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="checkpoints-saved"]')?.textContent) >= n,
    atLeast,
    { timeout: 300_000 },
  );
}

/** The engine worker (the tokenizer-training worker comes and goes), known by its name: both start from a blob. */
async function engineWorker(page: Page) {
  for (const worker of page.workers()) if ((await worker.evaluate(() => self.name)) === 'hearth-engine') return worker;
  throw new Error(`no engine worker among ${page.workers().length} workers`);
}

describe('the workflow in Chromium with WebGPU on SwiftShader', () => {
  /** every request the page, its workers and its service worker made, as Chromium saw it */
  const requests: string[] = [];
  const ui = usePage({ beforeOpen: (context) => context.on('request', (r) => requests.push(r.url())) });

  it('refuses, with the numbers, a run whose buffers the adapter cannot hold', async () => {
    const { page } = ui;
    await page
      .getByTestId('gpu-status')
      .filter({ hasText: /swiftshader/i })
      .waitFor({ timeout: 120_000 });
    // The tiny preset with GPT-2's 50,257 tokens at batch 64 × block 128 needs logits larger than SwiftShader binds.
    await page.locator('#arg-per_device_train_batch_size').fill('64');
    const refusal = page.getByTestId('fit-problem');
    await refusal.waitFor({ timeout: 60_000 });
    expect(await refusal.innerText()).toMatch(
      /does not fit the GPU: the logits of one batch \(64 × 128 × 50257 floats = 1571 MiB\) exceed the largest buffer the adapter allows \(\d+ MiB\)/,
    );
    expect(await page.getByTestId('train-blockers').innerText()).toMatch(/does not fit the GPU/);
    expect(await page.getByTestId('start-training').isDisabled()).toBe(true);
    await page.getByTestId('args-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'workflow-00-does-not-fit');
  });

  it('trains a toy model on a dropped file, with progress, a moving loss chart and checkpoints', async () => {
    const { page } = ui;
    await prepareToyRun(page, {
      max_steps: '10',
      logging_steps: '2',
      save_steps: '5',
      eval_strategy: 'steps',
      eval_steps: '5',
    });
    const vocabulary = page.getByTestId('vocabulary-note');
    expect(await vocabulary.innerText()).toContain(`Vocabulary: ${CHAR_VOCAB} tokens (characters of your files).`);
    // GPT-2 124M keeps GPT-2's 50,257 embeddings: the line says how the character tokenizer sits in them.
    await page.getByTestId('preset-gpt2').click();
    expect(await vocabulary.innerText()).toContain(
      `Vocabulary: 50,257 token embeddings, this preset's own (GPT-2's size); your tokenizer (characters of your files) uses the first ${CHAR_VOCAB}.`,
    );
    await page.getByTestId('preset-toy').click();
    await screenshot(page, 'workflow-01-ready');

    const chart = page.getByTestId('loss-chart').locator('[role="img"]');
    await page.getByTestId('start-training').click();
    // Before the first step the page says what it is doing (the GPU kernels compile), and not after it.
    const phase = page.getByTestId('run-phase');
    await phase.waitFor({ timeout: 120_000 });
    expect(await phase.innerText()).toMatch(/Compiling the GPU kernels/);
    await chart.and(page.locator('[aria-label*="train loss"]')).waitFor({ timeout: 300_000 });
    expect(await phase.count()).toBe(0);
    const early = await chart.getAttribute('aria-label');
    expect(await status(page).innerText()).toMatch(/Training|Finished/);
    // The page answers while the worker trains: a closed group of fields opens.
    await page.getByTestId('group-optimizer').locator('summary').click();
    await screenshot(page, 'workflow-02-training');

    await status(page).filter({ hasText: 'Finished' }).waitFor({ timeout: 300_000 });
    expect(await stepShown(page)).toBe(10);
    const late = await chart.getAttribute('aria-label');
    expect(late).not.toBe(early);
    expect(late).toMatch(/train loss \d+\.\d+ at step 10; eval loss \d+\.\d+ at step 10/);
    const progress = await page.getByTestId('run-progress').innerText();
    for (const figure of ['Epoch', 'Speed', 'tokens/s', 'Left']) expect(progress).toContain(figure);
    expect(await page.getByTestId('loss-chart').locator('canvas').count()).toBeGreaterThan(0);
    const rows = page.getByTestId('checkpoint-row');
    await rows.filter({ hasText: 'step 10' }).waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.allInnerTexts()).toEqual([expect.stringMatching(/step 10/), expect.stringMatching(/step 5/)]);
    await page.getByTestId('train-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'workflow-03-trained');
    // Progress, chart and checkpoints fit a phone's width.
    await page.setViewportSize({ width: 390, height: 800 });
    // The chart follows its container's width on the next frame (a ResizeObserver).
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    await screenshot(page, 'workflow-03-trained-narrow');
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(ui.errors).toEqual([]);
  });

  it('generates several samples side by side, the text appearing as it comes', async () => {
    const { page } = ui;
    await page.getByTestId('prompt').fill('今天');
    await page.locator('#gen-max_new_tokens').fill('24');
    await page.locator('#gen-num_return_sequences').fill('2');
    await page.locator('#gen-seed').fill('7');
    // Count the changes to the samples as they happen: streamed text changes them many times.
    await page.evaluate(() => {
      const w = window as unknown as { sampleChanges: number };
      w.sampleChanges = 0;
      new MutationObserver(() => w.sampleChanges++).observe(document.querySelector('[data-testid="generate-panel"]')!, {
        subtree: true,
        characterData: true,
        childList: true,
      });
    });
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').waitFor({ timeout: 120_000 });
    const samples = page.getByTestId('sample');
    expect(await samples.count()).toBe(2);
    for (const text of await samples.allInnerTexts()) {
      expect(text.startsWith('今天')).toBe(true);
      expect(text.length).toBeGreaterThan('今天'.length);
    }
    expect(await page.evaluate(() => (window as unknown as { sampleChanges: number }).sampleChanges)).toBeGreaterThan(
      4,
    );
    expect(await page.getByTestId('generate-panel').innerText()).toMatch(/seed 7/);
    await page.getByTestId('generate-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'workflow-04-generated');

    // Beam search: do_sample off, three beams, the two best shown with their scores, best first; no seed reported.
    // The prompt's snowman is no character of the files: the page says it was read as unknown.
    await page.getByTestId('prompt').fill('今天☃');
    await page.getByLabel('do_sample').uncheck();
    await page.locator('#gen-num_beams').fill('3');
    await page.locator('#gen-max_new_tokens').fill('6');
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').waitFor({ timeout: 120_000 });
    expect(await samples.count()).toBe(2);
    const scores = (await page.getByTestId('sample-score').allInnerTexts()).map((t) => Number(t.replace('score', '')));
    expect(scores.length).toBe(2);
    expect(scores[0]).toBeGreaterThanOrEqual(scores[1]);
    const message = page.getByTestId('generation-message');
    expect(await message.getAttribute('role')).toBe('status');
    expect(await message.innerText()).toMatch(/beam search, 3 beams/);
    expect(await message.innerText()).not.toMatch(/seed/);
    expect(await message.innerText()).toMatch(/not in the tokenizer's vocabulary, read as unknown: “☃”/);
    await page.getByLabel('do_sample').check();
  });

  it('finds the checkpoints after a reload, exports one as a Hugging Face folder, and imports it back', async () => {
    const { page } = ui;
    await page.reload();
    // The training files are gone with the reload (a browser keeps no file across one), and the page says which.
    const earlier = page.getByTestId('earlier-files');
    await earlier.waitFor({ timeout: 60_000 });
    expect(await earlier.innerText()).toMatch(/fox-天气\.txt \([\d.]+ [kK]?B\)[\s\S]*drop them again/);
    const rows = page.getByTestId('checkpoint-row');
    await rows.nth(1).waitFor({ timeout: 60_000 });
    expect(await rows.count()).toBe(2);
    // A finished run leaves nothing to resume.
    expect(await page.getByTestId('resume-notice').count()).toBe(0);
    const name = await rows.first().getByTestId('checkpoint-name').innerText();
    expect(name).toMatch(/^toy .* step 10$/);

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: `Export ${name} as a zip` }).click(),
    ]);
    const zip = new Uint8Array(await readFile(await download.path()));
    const byName = new Map(unzip(zip).files.map(([path, bytes]) => [path.split('/').at(-1)!, bytes]));
    for (const file of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'hearth_state.json',
      'optimizer.safetensors',
      'train.py',
      'requirements.txt',
      'ds_config.json',
      'README.md',
    ])
      expect(byName.has(file), file).toBe(true);
    expect(new TextDecoder().decode(byName.get('train.py'))).toMatch(/^ {4}max_steps=-?\d+,$/m); // the run's own
    const config = parseModelConfig(new TextDecoder().decode(byName.get('config.json')));
    expect(config).toMatchObject({ n_layer: 1, n_embd: 32, n_head: 2, n_positions: 64, vocab_size: CHAR_VOCAB });
    const shapes = new Map(
      parseSafetensorsHeader(byName.get('model.safetensors')!).entries.map((e) => [
        e.name.replace(/^transformer\./, ''),
        e.shape,
      ]),
    );
    for (const [param, shape] of modelParameterShapes(config)) expect(shapes.get(param), param).toEqual(shape);
    const tokenizer = JSON.parse(new TextDecoder().decode(byName.get('tokenizer.json')));
    expect(tokenizer.model.type).toBe('WordLevel');
    expect(Object.keys(tokenizer.model.vocab)).toContain('天');

    await page.getByRole('button', { name: `Delete ${name}` }).click();
    await rows.filter({ hasText: name }).getByRole('button', { name: 'Delete', exact: true }).click();
    await rows.filter({ hasText: name }).waitFor({ state: 'detached' });
    await page
      .getByTestId('checkpoint-zip-input')
      .setInputFiles({ name: download.suggestedFilename(), mimeType: 'application/zip', buffer: Buffer.from(zip) });
    const imported = rows.filter({ hasText: download.suggestedFilename().replace(/\.zip$/, '') });
    await imported.waitFor({ timeout: 60_000 });
    expect(await imported.innerText()).toMatch(/\b10\b/);

    // The imported checkpoint is a model to generate from, with its own tokenizer.
    await page.getByRole('radio', { name: 'Saved checkpoint' }).check();
    await page
      .getByTestId('checkpoint-choice')
      .selectOption({ label: `${download.suggestedFilename().replace(/\.zip$/, '')} (step 10)` });
    await page.getByTestId('model-summary').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('tokenizer-own').innerText()).toContain(`${CHAR_VOCAB} tokens`);
    await page.getByTestId('prompt').fill('The');
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').waitFor({ timeout: 120_000 });
    expect((await page.getByTestId('sample').first().innerText()).length).toBeGreaterThan(3);
    await page.getByTestId('checkpoints-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'workflow-05-imported');
    expect(ui.errors).toEqual([]);
  });

  it('sent nothing off its own origin from the drop to the export and the import', () => {
    const origin = new URL(ui.url).origin;
    const elsewhere = requests.filter((url) => !url.startsWith('blob:') && !url.startsWith('data:'));
    expect(elsewhere.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    // The record holds the workers' requests too: the engine worker's module, loaded from inside its blob.
    expect(elsewhere.some((url) => /\/assets\/worker-[^/]*\.js$/.test(url))).toBe(true);
    expect(elsewhere.length).toBeGreaterThan(5);
  });

  it('offers to resume a run interrupted by a reload; the resumed run pauses for a generation and stops', async () => {
    const { page } = ui;
    await page.reload();
    await prepareToyRun(page, {
      max_steps: '60',
      logging_steps: '1',
      save_steps: '3',
      save_total_limit: '2',
      eval_strategy: 'no',
    });
    await page.getByTestId('start-training').click();
    await waitForSaves(page, 1);
    // Leaving mid-run, the browser asks first (the page's beforeunload); the person confirms.
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.type());
        void dialog.accept();
      }),
    );
    await page.reload();
    expect(await asked).toBe('beforeunload');
    const notice = page.getByTestId('resume-notice');
    await notice.waitFor({ timeout: 60_000 });
    expect(await notice.innerText()).toMatch(/interrupted[\s\S]*step \d+/);
    const runName = await notice.locator('strong').first().innerText();
    await screenshot(page, 'workflow-06-resume-offered');

    await page
      .getByTestId('gpu-status')
      .filter({ hasText: /swiftshader/i })
      .waitFor({ timeout: 120_000 });
    await notice.getByRole('button', { name: 'Resume training' }).click();
    await status(page).filter({ hasText: 'Training' }).waitFor({ timeout: 120_000 });
    const resumedAt = await stepShown(page);
    expect(resumedAt).toBeGreaterThanOrEqual(3);
    await waitForStep(page, resumedAt + 2);
    await page.getByRole('button', { name: 'Pause' }).click();
    await status(page).filter({ hasText: 'Paused' }).waitFor({ timeout: 60_000 });
    const pausedAt = await stepShown(page);

    await page.getByTestId('prompt').fill('fox');
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('sample').count()).toBeGreaterThan(0);
    expect(await stepShown(page)).toBe(pausedAt);
    await screenshot(page, 'workflow-07-paused-generated');

    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await waitForStep(page, pausedAt + 1);
    await page.getByRole('button', { name: 'Stop' }).click();
    await status(page).filter({ hasText: 'Stopped' }).waitFor({ timeout: 120_000 });
    const stoppedAt = await stepShown(page);
    // Stopping saves what was learned since the last save; save_total_limit 2 keeps the run's newest two.
    const runRows = page.getByTestId('checkpoint-row').filter({ hasText: runName });
    await runRows.filter({ hasText: `${runName} step ${stoppedAt}` }).waitFor({ timeout: 60_000 });
    expect(await runRows.count()).toBe(2);
    expect(await page.getByTestId('resume-notice').count()).toBe(0);
    expect(ui.errors).toEqual([]);
  });

  it('stops a run whose loss is no longer a number, and says so', async () => {
    const { page } = ui;
    await page.reload();
    await prepareToyRun(page, {
      max_steps: '8',
      logging_steps: '1',
      save_steps: '100',
      learning_rate: '1e30',
      max_grad_norm: '0',
    });
    await page.getByTestId('start-training').click();
    await status(page).filter({ hasText: 'Failed' }).waitFor({ timeout: 300_000 });
    const message = await page.getByTestId('run-message').innerText();
    expect(message).toMatch(/not a finite number/);
    expect(message).toMatch(/last checkpoint/);
    await page.getByTestId('train-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'workflow-08-diverged');
  });

  it('reports a lost GPU and restarts training from the last checkpoint on a fresh device', async () => {
    const { page } = ui;
    await page.reload();
    await prepareToyRun(page, { max_steps: '60', logging_steps: '1', save_steps: '2', eval_strategy: 'no' });
    await page.getByTestId('start-training').click();
    await waitForSaves(page, 1);
    // What a driver reset does to the page: the device is destroyed under the running step.
    await (
      await engineWorker(page)
    ).evaluate(() =>
      self.dispatchEvent(new MessageEvent('message', { data: { kind: 'loseDevice', id: 1e9, payload: {} } })),
    );
    await page.getByTestId('gpu-problem').waitFor({ timeout: 60_000 });
    await status(page).filter({ hasText: 'Failed' }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('run-message').innerText()).toMatch(/GPU was lost/);
    const notice = page.getByTestId('resume-notice');
    await notice.waitFor({ timeout: 60_000 });
    await screenshot(page, 'workflow-09-device-lost');

    await notice.getByRole('button', { name: 'Restart from the last checkpoint' }).click();
    await status(page).filter({ hasText: 'Training' }).waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('gpu-problem').count()).toBe(0);
    const restartedAt = await stepShown(page);
    await waitForStep(page, restartedAt + 2);
    await page.getByRole('button', { name: 'Stop' }).click();
    await status(page).filter({ hasText: 'Stopped' }).waitFor({ timeout: 120_000 });
  });

  it('saves a run when the page goes (paused or mid-step), and asks before dropping a model no checkpoint holds', async () => {
    const { page } = ui;
    await page.reload();
    await prepareToyRun(page, { max_steps: '300', logging_steps: '1', save_steps: '1000', eval_strategy: 'no' });
    await page.getByTestId('start-training').click();
    await waitForStep(page, 2);
    await page.getByRole('button', { name: 'Pause' }).click();
    await status(page).filter({ hasText: 'Paused' }).waitFor({ timeout: 60_000 });
    const names = page.getByTestId('checkpoint-row').getByTestId('checkpoint-name');
    const before = await names.count();
    // The page going (pagehide, as when the tab closes) saves the paused model at once, its step in the name.
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide')));
    await waitForSaves(page, 1);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="checkpoint-name"]').length > n, before, {
      timeout: 60_000,
    });
    expect(await names.count()).toBe(before + 1);
    // Newest first: this run's save, named "<run> step <n>".
    const [, runName, step] = /^(.*) step (\d+)$/.exec(await names.first().innerText())!;
    const pausedAt = Number(step);
    expect(pausedAt).toBeGreaterThanOrEqual(2);

    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await waitForStep(page, pausedAt + 2);
    // A reload mid-step: while the browser asks, the run saves after the step in flight; the person confirms once
    // the checkpoint is in storage (read from the engine worker, which runs on while the page waits).
    const worker = await engineWorker(page);
    const storedSteps = () =>
      worker.evaluate(
        (run) =>
          new Promise<number[]>((ok, fail) => {
            const open = indexedDB.open('hearth-checkpoints');
            open.onerror = () => fail(open.error);
            open.onsuccess = () => {
              const db = open.result;
              const get = db.transaction('files').objectStore('files').get('manifest');
              get.onerror = () => fail(get.error);
              get.onsuccess = () => {
                db.close();
                const list = (get.result ?? []) as { run: string | null; step: number | null }[];
                ok(list.filter((c) => c.run === run).map((c) => c.step ?? 0));
              };
            };
          }),
        runName,
      );
    const asked = new Promise<number>((resolve) =>
      page.once('dialog', (dialog) => {
        void (async () => {
          let steps = await storedSteps();
          for (let tries = 0; tries < 600 && !steps.some((s) => s > pausedAt); tries++) {
            await new Promise((r) => setTimeout(r, 200));
            steps = await storedSteps();
          }
          await dialog.accept();
          resolve(Math.max(...steps));
        })();
      }),
    );
    await page.reload();
    const savedAt = await asked;
    expect(savedAt).toBeGreaterThan(pausedAt);
    const notice = page.getByTestId('resume-notice');
    await notice.waitFor({ timeout: 60_000 });
    expect(await notice.innerText()).toContain(`step ${savedAt}`);
    await notice.getByRole('button', { name: 'Dismiss' }).click();

    // A run that never saves (save_strategy "no") leaves its model in the tab alone: leaving asks first.
    await prepareToyRun(page, { max_steps: '2', logging_steps: '1', save_strategy: 'no', eval_strategy: 'no' });
    await trainToTheEnd(page);
    const dialog = new Promise<string>((resolve) =>
      page.once('dialog', (d) => {
        resolve(d.type());
        void d.accept();
      }),
    );
    await page.reload();
    expect(await dialog).toBe('beforeunload');
    expect(ui.errors).toEqual([]);
  });
});
