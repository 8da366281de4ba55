// A Llama in the page end to end: a zip of a tiny Llama checkpoint as transformers' save_pretrained writes one
// (LlamaForCausalLM's config.json and model.safetensors, a SentencePiece-style BPE tokenizer.json with byte fallback,
// tokenizer_config.json, special_tokens_map.json, generation_config.json) is imported in the Model panel, trained a
// few steps, generates (the first generated word keeps its leading space), is exported, imported back, and generates
// the same text.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeLlamaConfig } from '../../src/core/model/families/llama_config.ts';
import { parameterCount, parameterShapes, parseModelConfig } from '../../src/core/model/families/index.ts';
import { unzip, zipFolder } from '../../src/core/checkpoint/zip.ts';
import { concatBytes } from '../../src/core/util/bytes.ts';
import { formatCount } from '../../src/ui/format.ts';
import { hfSafetensors, rawTensor, type RawTensor } from '../unit/hf_fixtures.ts';
import { dropFiles, screenshot, setArguments, trainToTheEnd, usePage, waitForFileTokens } from './page.ts';

const SPECIALS = ['<unk>', '<s>', '</s>'];
const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
const LETTERS = [...'▁abcdefghijklmnopqrstuvwxyz.'];
/** Merges in rank order; each one's pieces are in the vocabulary before it. */
const MERGES: [string, string][] = [
  ['▁', 't'],
  ['h', 'e'],
  ['▁t', 'he'],
  ['a', 't'],
  ['▁', 'c'],
  ['▁c', 'at'],
  ['▁', 's'],
  ['▁s', 'at'],
  ['▁', 'o'],
  ['▁o', 'n'],
  ['▁', 'm'],
  ['▁m', 'at'],
];

/** The tokenizer's vocabulary in id order. */
const LLAMA_VOCAB = [...SPECIALS, ...BYTES, ...LETTERS, ...MERGES.map(([a, b]) => a + b)];

function tokenizerJson(): string {
  const special = (id: number) => ({
    id,
    content: SPECIALS[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0), special(1), special(2)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(LLAMA_VOCAB.map((t, id) => [t, id])),
      merges: MERGES,
    },
  });
}

const TOKENIZER_CONFIG = {
  add_bos_token: true,
  add_eos_token: false,
  add_prefix_space: null,
  added_tokens_decoder: Object.fromEntries(
    SPECIALS.map((content, id) => [
      String(id),
      { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
    ]),
  ),
  bos_token: '<s>',
  clean_up_tokenization_spaces: false,
  eos_token: '</s>',
  legacy: false,
  model_max_length: 1000000000000000019884624838656,
  pad_token: null,
  sp_model_kwargs: {},
  tokenizer_class: 'LlamaTokenizer',
  unk_token: '<unk>',
  use_default_system_prompt: false,
};

/** The files of a save_pretrained folder of a random two-layer Llama over LLAMA_VOCAB. */
function tinyLlamaFolder(seed = 1): Map<string, Uint8Array> {
  const config = makeLlamaConfig('llama', {
    vocab_size: LLAMA_VOCAB.length,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    bos_token_id: 1,
    eos_token_id: 2,
  });
  const configJson = {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    head_dim: 4,
    hidden_act: 'silu',
    hidden_size: 16,
    initializer_range: 0.02,
    intermediate_size: 24,
    max_position_embeddings: 64,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: 4,
    num_hidden_layers: 2,
    num_key_value_heads: 2,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
    vocab_size: LLAMA_VOCAB.length,
  };
  let k = seed;
  const tensors = new Map<string, RawTensor>();
  for (const [name, shape] of parameterShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => (name.endsWith('norm.weight') ? 1 : Math.sin(++k * 1.7) * 0.3));
    tensors.set(name === 'lm_head.weight' ? name : `model.${name}`, rawTensor(data, shape, 'F32'));
  }
  const enc = new TextEncoder();
  const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + '\n');
  return new Map([
    ['config.json', json(configJson)],
    ['generation_config.json', json({ bos_token_id: 1, eos_token_id: 2, transformers_version: '4.46.0' })],
    ['model.safetensors', hfSafetensors(tensors)],
    ['tokenizer.json', enc.encode(tokenizerJson())],
    ['tokenizer_config.json', json(TOKENIZER_CONFIG)],
    [
      'special_tokens_map.json',
      json({
        bos_token: { content: '<s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
        eos_token: { content: '</s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
        unk_token: { content: '<unk>', lstrip: false, normalized: false, rstrip: false, single_word: false },
      }),
    ],
  ]);
}

const TEXT = 'the cat sat on the mat. '.repeat(80);

/** Greedy generation from the current model: the first sample's text, prompt included. */
async function generateGreedy(page: Page, prompt: string): Promise<string> {
  await page.getByTestId('prompt').fill(prompt);
  await page.getByLabel('do_sample').uncheck();
  await page.locator('#gen-num_beams').fill('1');
  await page.locator('#gen-max_new_tokens').fill('12');
  await page.getByTestId('generate').click();
  await page.getByTestId('generate').waitFor({ timeout: 120_000 });
  return page.getByTestId('sample').first().innerText();
}

describe('a Llama model in the page', () => {
  const ui = usePage({ gpu: true });

  it('imports a Llama zip, trains it, generates, exports it and generates the same text from the export', async () => {
    const { page } = ui;
    const folder = tinyLlamaFolder();
    const zip = concatBytes(zipFolder(folder, 'tiny-llama'));
    await page.getByRole('radio', { name: 'Saved checkpoint' }).check();
    await page
      .getByTestId('model-zip-input')
      .setInputFiles({ name: 'tiny-llama.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await page.getByTestId('model-summary').filter({ hasText: 'tiny-llama' }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('model-summary-family').innerText()).toBe('Llama');
    const config = parseModelConfig(new TextDecoder().decode(folder.get('config.json')));
    expect(await page.getByTestId('model-summary-params').innerText()).toBe(formatCount(parameterCount(config)));
    const row = page.getByTestId('checkpoint-row').filter({ hasText: 'tiny-llama' });
    expect(await row.getByTestId('checkpoint-family').innerText()).toBe('Llama');

    await dropFiles(page, '[data-testid="dropzone"]', [{ name: 'cats.txt', content: TEXT }]);
    await waitForFileTokens(page);
    await setArguments(page, {
      per_device_train_batch_size: '4',
      block_size: '32',
      learning_rate: '0.03',
      warmup_steps: '0',
      max_steps: '30',
      logging_steps: '5',
      save_steps: '30',
      eval_strategy: 'no',
    });
    await trainToTheEnd(page);
    const trained = page
      .getByTestId('checkpoint-row')
      .filter({ has: page.getByTestId('checkpoint-name').filter({ hasText: /step 30$/ }) });
    await trained.waitFor({ timeout: 60_000 });
    expect(await trained.getByTestId('checkpoint-family').innerText()).toBe('Llama');

    const first = await generateGreedy(page, 'the cat');
    // Trained on one sentence, the model goes on with it; the word after the prompt keeps its space.
    expect(first).toMatch(/^the cat sat/);
    await page.getByTestId('generate-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'llama-01-generated');

    const name = await trained.getByTestId('checkpoint-name').innerText();
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: `Export ${name} as a zip` }).click(),
    ]);
    const exported = new Uint8Array(await readFile(await download.path()));
    const files = new Map(unzip(exported).files.map(([path, bytes]) => [path.split('/').at(-1)!, bytes]));
    expect(parseModelConfig(new TextDecoder().decode(files.get('config.json')))).toMatchObject({
      model_type: 'llama',
      num_hidden_layers: 2,
      num_key_value_heads: 2,
    });
    expect(new TextDecoder().decode(files.get('tokenizer.json'))).toBe(
      new TextDecoder().decode(folder.get('tokenizer.json')),
    );

    await page
      .getByTestId('model-zip-input')
      .setInputFiles({ name: 'llama-again.zip', mimeType: 'application/zip', buffer: Buffer.from(exported) });
    await page.getByTestId('model-summary').filter({ hasText: 'llama-again' }).waitFor({ timeout: 60_000 });
    expect(await generateGreedy(page, 'the cat')).toBe(first);
    await screenshot(page, 'llama-02-imported-again');
    expect(ui.errors).toEqual([]);
  });
});
