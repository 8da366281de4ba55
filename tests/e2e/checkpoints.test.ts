// Checkpoints in the page: import a zip, find it listed again after a reload, export it and check the zip
// holds a Hugging Face GPT-2 folder with the right shapes, export it in bfloat16 and as GGUF, rename it, delete it;
// a broken zip is refused.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkpointFromZip, checkpointToZip } from '../../src/core/checkpoint/archive.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import { parameterCount } from '../../src/core/model/families/index.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import type { HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import { parseSafetensorsHeader } from '../../src/core/checkpoint/safetensors.ts';
import { elementCount } from '../../src/core/checkpoint/tensors.ts';
import { unzip } from '../../src/core/checkpoint/zip.ts';
import { charLevelJson } from '../../src/core/tokenizer/tokenizer_json.ts';
import { formatCount } from '../../src/ui/format.ts';
import { screenshot, usePage } from './page.ts';
import { concatBytes } from '../../src/core/util/bytes.ts';
import { parseWithHf, TYPE_ID } from '../unit/gguf_fixtures.ts';
import { bf16Bits, bf16Value } from '../unit/hf_fixtures.ts';

/** A one-layer GPT-2 over a 13-character vocabulary, with fixed weights. */
function tinyCheckpoint(): HearthCheckpoint {
  const config = makeGpt2Config({ vocab_size: 13, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 });
  const weights: NamedTensors = new Map();
  let k = 0;
  for (const [name, shape] of modelParameterShapes(config)) {
    const data = Float32Array.from({ length: elementCount(shape) }, () => Math.sin(++k) * 0.1);
    weights.set(name, { shape, data });
  }
  const tokens = [...'abcdefghijk', '<|unk|>', '<|endoftext|>'];
  const special = [
    { id: 11, content: '<|unk|>' },
    { id: 12, content: '<|endoftext|>' },
  ];
  const tokenizer = charLevelJson(tokens, special, '<|unk|>');
  return { config, weights, tokenizer: { 'tokenizer.json': tokenizer } };
}

describe('checkpoints in the page', () => {
  const ui = usePage();
  const ckpt = tinyCheckpoint();

  it('imports a zip and lists it, still there after a reload', async () => {
    const { page } = ui;
    const zip = concatBytes(checkpointToZip(ckpt, 'tiny-model'));
    await page
      .getByTestId('checkpoint-zip-input')
      .setInputFiles({ name: 'tiny-model.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    const row = page.getByTestId('checkpoint-row').filter({ hasText: 'tiny-model' });
    await row.waitFor({ timeout: 60_000 });
    expect(await row.innerText()).toContain(`${formatCount(parameterCount(ckpt.config))} params`);
    await page.reload();
    await row.waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('checkpoint-row').count()).toBe(1);
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'checkpoints-01-imported');
  });

  it('exports a zip holding config.json, model.safetensors and tokenizer.json with the right shapes', async () => {
    const { page } = ui;
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Export tiny-model as a zip' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('tiny-model.zip');
    const { files } = unzip(new Uint8Array(await readFile(await download.path())));
    const byName = new Map(files.map(([path, bytes]) => [path.split('/').at(-1)!, bytes]));
    for (const name of ['config.json', 'model.safetensors', 'tokenizer.json'])
      expect(byName.has(name), name).toBe(true);
    const config = JSON.parse(new TextDecoder().decode(byName.get('config.json')));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      n_layer: 1,
      n_embd: 8,
      n_head: 2,
      vocab_size: 13,
      n_positions: 16,
    });
    const shapes = new Map(
      parseSafetensorsHeader(byName.get('model.safetensors')!).entries.map((e) => [
        e.name.replace(/^transformer\./, ''),
        e.shape,
      ]),
    );
    for (const [name, shape] of modelParameterShapes(ckpt.config)) expect(shapes.get(name), name).toEqual(shape);
    expect(new TextDecoder().decode(byName.get('tokenizer.json'))).toBe(ckpt.tokenizer['tokenizer.json']);
  });

  it('exports in bfloat16 when asked: the model alone, each weight rounded to the nearest bfloat16', async () => {
    const { page } = ui;
    await page.getByLabel('Export weights as').selectOption('BF16');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Export tiny-model as a zip' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('tiny-model-bfloat16.zip');
    const back = checkpointFromZip(new Uint8Array(await readFile(await download.path())));
    expect(back.config.torch_dtype).toBe('bfloat16');
    for (const [name, t] of ckpt.weights)
      expect([...back.weights.get(name)!.data], name).toEqual([...t.data].map((x) => bf16Value(bf16Bits(x))));
    await page.getByLabel('Export weights as').selectOption('F32');
  });

  it('exports a GGUF file for llama.cpp, in the type chosen', async () => {
    const { page } = ui;
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('combobox', { name: 'Export tiny-model as GGUF' }).selectOption('Q8_0'),
    ]);
    expect(download.suggestedFilename()).toBe('tiny-model-q8_0.gguf');
    const parsed = await parseWithHf(new Uint8Array(await readFile(await download.path())));
    const metadata = parsed.metadata as Record<string, unknown>;
    expect(metadata['general.architecture']).toBe('gpt2');
    expect(metadata['general.name']).toBe('tiny-model');
    expect(metadata['tokenizer.ggml.tokens']).toHaveLength(13);
    // n_embd 8 is not a whole Q8_0 block: the matrices fall back to F16, the 1-D tensors stay F32.
    const types = new Map(parsed.tensorInfos.map((t) => [t.name, t.dtype]));
    expect(parsed.tensorInfos).toHaveLength(5 + 12);
    expect(types.get('blk.0.attn_qkv.weight')).toBe(TYPE_ID.F16);
    expect(types.get('blk.0.attn_qkv.bias')).toBe(TYPE_ID.F32);
  });

  it('renames and deletes, asking before it deletes', async () => {
    const { page } = ui;
    await page.getByRole('button', { name: 'Rename tiny-model' }).click();
    const input = page.getByRole('textbox', { name: 'New name for tiny-model' });
    await input.fill('天气 model');
    await input.press('Enter');
    const row = page.getByTestId('checkpoint-row').filter({ hasText: '天气 model' });
    await row.waitFor();
    await page.getByRole('button', { name: 'Delete 天气 model' }).click();
    await screenshot(page, 'checkpoints-02-confirm-delete');
    expect(await page.getByTestId('checkpoint-row').count()).toBe(1);
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    expect(await page.getByTestId('checkpoint-row').count()).toBe(0);
  });

  it('refuses a zip that holds no checkpoint, and says why', async () => {
    const { page } = ui;
    await page
      .getByTestId('checkpoint-zip-input')
      .setInputFiles({ name: 'notes.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
    const error = page.getByTestId('checkpoints-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.innerText()).toMatch(/^notes\.zip was not imported: .{10,}/);
    expect(await page.getByTestId('checkpoint-row').count()).toBe(0);
    await error.scrollIntoViewIfNeeded();
    await screenshot(page, 'checkpoints-03-refused');
    expect(ui.errors).toEqual([]);
  });
});
