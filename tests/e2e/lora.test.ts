// LoRA in the page as a person uses it, in Chromium with WebGPU on SwiftShader: a toy model trained two steps is
// used as the base, the LoRA switch turned on (a target the model lacks is refused with the core's words and blocks
// Train), both memory estimates read side by side, an adapter trained two steps, listed as an adapter of its base,
// generated from, and exported as PEFT's two files.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { unzip } from '../../src/core/checkpoint/zip.ts';
import { dropFiles, screenshot, setArguments, trainToTheEnd, usePage, waitForFileTokens } from './page.ts';

const TEXT = 'the cat sat on the mat. '.repeat(40);

describe('LoRA in the page', () => {
  const ui = usePage({ gpu: true });

  it('trains an adapter on a stored model, lists it as an adapter of its base, generates and exports it', async () => {
    const { page } = ui;
    await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'cats.txt', content: TEXT }]);
    await page.getByTestId('preset-toy').click();
    await page.getByRole('radio', { name: 'Characters of these files' }).check();
    await page.getByTestId('tokenizer-status').filter({ hasText: 'Ready: characters' }).waitFor({ timeout: 60_000 });
    await waitForFileTokens(page);
    await setArguments(page, {
      per_device_train_batch_size: '2',
      block_size: '16',
      learning_rate: '0.01',
      max_steps: '2',
      save_steps: '2',
      eval_strategy: 'no',
    });
    // A new model has no base to adapt: the switch says so.
    expect(await page.getByTestId('lora-note').textContent()).toContain('LoRA adapts a trained model');
    await trainToTheEnd(page);
    const base = page.getByTestId('checkpoint-row').first();
    const baseName = await base.getByTestId('checkpoint-name').innerText();
    await page.getByRole('button', { name: `Use ${baseName} as the model` }).click();
    await page.getByTestId('model-summary').filter({ hasText: baseName }).waitFor({ timeout: 60_000 });
    await page.getByRole('radio', { name: 'Fine-tune its weights' }).check();

    await page.getByTestId('lora-switch').check();
    await page.locator('#lora-r').fill('4');
    await page.locator('#lora-target_modules').fill('q_proj');
    expect(await page.getByTestId('lora-problem').innerText()).toContain(
      'LoRA target_modules [q_proj] match no linear layer of this GPT-2 model; its linear layers are c_attn, c_proj, c_fc',
    );
    expect(await page.getByTestId('start-training').isDisabled()).toBe(true);
    await page.locator('#lora-target_modules').fill('all-linear');
    const full = await page.getByTestId('memory-total').innerText();
    const lora = await page.getByTestId('memory-total-lora').innerText();
    expect(full).not.toBe(lora);
    await page.getByTestId('args-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'lora-01-settings');

    await trainToTheEnd(page);
    const adapter = page
      .getByTestId('checkpoint-row')
      .filter({ has: page.getByTestId('checkpoint-adapter') })
      .first();
    await adapter.waitFor({ timeout: 60_000 });
    expect(await adapter.getByTestId('checkpoint-adapter').innerText()).toBe(`LoRA adapter (r=4) of ${baseName}`);

    await page.getByTestId('prompt').fill('the cat');
    await page.locator('#gen-max_new_tokens').fill('4');
    await page.getByTestId('generate').click();
    await page
      .getByTestId('generation-message')
      .filter({ hasText: /\d+ tokens?/ })
      .waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('sample').first().innerText()).toMatch(/^the cat/);

    const name = await adapter.getByTestId('checkpoint-name').innerText();
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: `Export ${name} as a PEFT adapter zip` }).click(),
    ]);
    const files = unzip(new Uint8Array(await readFile(await download.path()))).files.map(([p]) => p.split('/').at(-1));
    expect(files.sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    await screenshot(page, 'lora-02-adapter');
    expect(ui.errors).toEqual([]);
  });
});
