// Formats: config.json, the Hugging Face GPT-2 folder, Hearth's training state, zip.
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { checkpointFromZip, checkpointToZip, checkpointFilesFromDrop } from '../../src/core/checkpoint/archive.ts';
import { modelConfigToJson, parseModelConfig, parameterCount } from '../../src/core/model/families/index.ts';
import { innerDim, makeGpt2Config, type GPT2Config } from '../../src/core/model/families/gpt2_config.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import type { HostTensor, NamedTensors } from '../../src/core/model/host_tensors.ts';
import { CheckpointError } from '../../src/core/checkpoint/errors.ts';
import {
  checkpointFromFiles,
  checkpointToFiles,
  flattenFolder,
  type HearthCheckpoint,
} from '../../src/core/checkpoint/hf_folder.ts';
import { readSafetensors, writeSafetensors } from '../../src/core/checkpoint/safetensors.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { crc32, unzip } from '../../src/core/checkpoint/zip.ts';
import { concatBytes } from '../../src/core/util/bytes.ts';
import { TOKENIZER_JSON, tinyCheckpoint } from './checkpoint_fixtures.ts';

function expectSameWeights(a: NamedTensors, b: NamedTensors) {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, t] of a) expect(bitwiseEqual(t, b.get(name)!), name).toBe(true);
}

function expectSameCheckpoint(back: HearthCheckpoint, ckpt: HearthCheckpoint) {
  expect(back.config).toEqual({ ...ckpt.config, torch_dtype: 'float32' });
  expectSameWeights(back.weights, ckpt.weights);
  expect(back.tokenizer).toEqual(ckpt.tokenizer);
  if (!ckpt.training) return expect(back.training).toBeUndefined();
  const { optimizer, ...rest } = ckpt.training;
  const { optimizer: backOptimizer, ...backRest } = back.training!;
  expect(backRest).toEqual(rest);
  expectSameWeights(backOptimizer!.expAvg, optimizer!.expAvg);
  expectSameWeights(backOptimizer!.expAvgSq, optimizer!.expAvgSq);
}

/** What transformers' save_pretrained writes for GPT2LMHeadModel, scaled down. */
function hfConfigJson(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: 0.1,
    bos_token_id: 12,
    embd_pdrop: 0.1,
    eos_token_id: 12,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
    model_type: 'gpt2',
    n_ctx: 9,
    n_embd: 8,
    n_head: 2,
    n_layer: 2,
    n_positions: 9,
    resid_pdrop: 0.1,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: 'cls_index',
    summary_use_proj: true,
    task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } },
    torch_dtype: 'float32',
    transformers_version: '4.40.0',
    use_cache: true,
    vocab_size: 13,
    ...overrides,
  });
}

describe('config.json', () => {
  it('reads a Hugging Face GPT-2 config and writes it back with n_ctx', () => {
    const c = parseModelConfig(hfConfigJson());
    expect(c).toMatchObject({
      n_layer: 2,
      n_head: 2,
      n_embd: 8,
      n_positions: 9,
      vocab_size: 13,
      bos_token_id: 12,
      n_inner: null,
    });
    expect(innerDim(c as GPT2Config)).toBe(32);
    const written = JSON.parse(modelConfigToJson(c));
    expect(written).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_ctx: 9,
      n_positions: 9,
      activation_function: 'gelu_new',
    });
    expect(parseModelConfig(modelConfigToJson(c))).toEqual(c);
  });

  it('fills defaults: HF GPT-2 small, n_positions from n_ctx in old configs', () => {
    const c = makeGpt2Config();
    expect(c).toMatchObject({
      vocab_size: 50257,
      n_positions: 1024,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      initializer_range: 0.02,
      layer_norm_epsilon: 1e-5,
      bos_token_id: 50256,
    });
    expect(parameterCount(c)).toBe(124439808); // GPT-2 small without the tied head
    expect(parseModelConfig('{"n_ctx": 64, "vocab_size": 100}')).toMatchObject({ n_positions: 64, bos_token_id: 99 });
  });

  it.each([
    [{ model_type: 'falcon' }, /model_type "falcon"; Hearth runs GPT-2 models .*Llama models .*GPT-NeoX models/],
    [
      { architectures: ['GPT2ForSequenceClassification'] },
      /architecture GPT2ForSequenceClassification; Hearth runs GPT2LMHeadModel/,
    ],
    [{ n_embd: 10, n_head: 3 }, /n_embd \(10\) must be divisible by n_head \(3\)/],
    [{ activation_function: 'relu' }, /activation_function "relu" is not supported; Hearth runs GPT-2's gelu_new/],
    [{ activation_function: 'gelu' }, /activation_function "gelu" is not supported/],
    [{ scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx is not supported/],
    [{ tie_word_embeddings: false }, /tie_word_embeddings false/],
    [{ add_cross_attention: true }, /cross-attention/],
  ])('refuses what Hearth cannot run: %j', (overrides, message) => {
    expect(() => parseModelConfig(hfConfigJson(overrides))).toThrow(message);
    try {
      parseModelConfig(hfConfigJson(overrides));
    } catch (e) {
      expect((e as CheckpointError).code).toBe('unsupported-model');
    }
  });

  it.each([
    ['not JSON', 'not json', /config.json is not valid JSON/],
    ['a list', JSON.stringify([1]), /must hold a JSON object/],
    ['fractional n_layer', hfConfigJson({ n_layer: 2.5 }), /n_layer must be a positive integer/],
    [
      'eos outside the vocabulary',
      hfConfigJson({ eos_token_id: 13 }),
      /eos_token_id must be a token id below vocab_size 13/,
    ],
    ['dropout above 1', hfConfigJson({ attn_pdrop: 1.5 }), /attn_pdrop must be in \[0, 1\)/],
  ])('refuses a malformed config: %s', (_label, text, message) => {
    expect(() => parseModelConfig(text)).toThrow(message);
  });
});

describe('Hugging Face folder', () => {
  it('export then import gives identical weights, config, tokenizer and training state', () => {
    const ckpt = tinyCheckpoint({ training: true });
    ckpt.tokenizer['vocab.json'] = '{"a": 0}';
    ckpt.tokenizer['merges.txt'] = '#version: 0.2\n';
    const files = checkpointToFiles(ckpt);
    expect([...files.keys()]).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'vocab.json',
      'merges.txt',
      'hearth_state.json',
      'optimizer.safetensors',
    ]);
    const back = checkpointFromFiles(files);
    expectSameCheckpoint(back, ckpt);
    expect(back.generationConfig).toEqual({ _from_model_config: true, bos_token_id: 12, eos_token_id: 12 });
    // the weights file is what transformers expects: GPT-2 names, no lm_head, format "pt"
    const { tensors, metadata } = readSafetensors(files.get('model.safetensors')!);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual([...modelParameterShapes(ckpt.config).keys()]);
    expect(tensors.get('h.1.mlp.c_fc.weight')!.shape).toEqual([8, 32]); // Conv1D: [in, out]
  });

  it('refuses to save weights or moments that are not finite, naming them', () => {
    const ckpt = tinyCheckpoint({ training: true });
    ckpt.training!.optimizer!.expAvgSq.get('h.0.mlp.c_fc.bias')!.data[3] = Infinity;
    expect(() => checkpointToFiles(ckpt)).toThrow(
      /cannot save: exp_avg_sq of "h\.0\.mlp\.c_fc\.bias" holds Infinity at element 3/,
    );
    ckpt.weights.get('ln_f.weight')!.data[0] = NaN;
    expect(() => checkpointToFiles(ckpt)).toThrow(
      /cannot save: parameter "ln_f\.weight" holds NaN at element 0 \(training diverged\?\)/,
    );
  });

  it('F16 export halves the weights and imports within half precision', () => {
    const ckpt = tinyCheckpoint();
    const f16 = checkpointToFiles(ckpt, { weightsDtype: 'F16' });
    const f32 = checkpointToFiles(ckpt);
    const dataBytes = (b: Uint8Array) =>
      b.length - 8 - Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    expect(dataBytes(f16.get('model.safetensors')!) * 2).toBe(dataBytes(f32.get('model.safetensors')!));
    const back = checkpointFromFiles(f16);
    const w = ckpt.weights.get('wte.weight')!.data;
    back.weights
      .get('wte.weight')!
      .data.forEach((x, i) => expect(Math.abs(x - w[i])).toBeLessThanOrEqual(Math.abs(w[i]) * 2 ** -11 + 2 ** -24));
  });

  function pytorchStyleFiles(ckpt: HearthCheckpoint, dtype: 'F32' | 'F16'): Map<string, Uint8Array> {
    const P = (ckpt.config as GPT2Config).n_positions;
    const entries: [string, HostTensor][] = [];
    const tril = new Float32Array(P * P).map((_, i) => (i % P <= Math.floor(i / P) ? 1 : 0));
    for (const [name, t] of ckpt.weights) {
      entries.push(['transformer.' + name, t]);
      const layer = /^h\.(\d+)\.ln_1\.weight$/.exec(name);
      if (layer) {
        entries.push([`transformer.h.${layer[1]}.attn.bias`, { shape: [1, 1, P, P], data: tril }]);
        entries.push([`transformer.h.${layer[1]}.attn.masked_bias`, { shape: [], data: new Float32Array([-1e4]) }]);
      }
    }
    entries.push(['lm_head.weight', ckpt.weights.get('wte.weight')!]);
    const enc = new TextEncoder();
    return new Map([
      ['config.json', enc.encode(hfConfigJson())],
      ['model.safetensors', writeSafetensors(entries, { dtype, metadata: { format: 'pt' } })],
      ['tokenizer.json', enc.encode(TOKENIZER_JSON)],
      [
        'generation_config.json',
        enc.encode('{"bos_token_id": 12, "eos_token_id": 12, "transformers_version": "4.40.0"}'),
      ],
    ]);
  }

  it('imports a PyTorch-style checkpoint: transformer. prefix, mask buffers, tied lm_head', () => {
    const ckpt = tinyCheckpoint({ config: { bos_token_id: 12, eos_token_id: 12 } });
    const back = checkpointFromFiles(pytorchStyleFiles(ckpt, 'F32'));
    expectSameWeights(back.weights, ckpt.weights);
    expect((back.config as GPT2Config).task_specific_params).toEqual({
      'text-generation': { do_sample: true, max_length: 50 },
    });
    expect(back.generationConfig).toMatchObject({ eos_token_id: 12 });
    expect(back.training).toBeUndefined();
    // the same in float16, as torch_dtype=float16 models are shared
    const half = checkpointFromFiles(pytorchStyleFiles(ckpt, 'F16'));
    expect([...half.weights.keys()]).toEqual([...ckpt.weights.keys()]);
  });

  it('accepts a folder inside a zip or a drop, and refuses two checkpoints at once', () => {
    const files = checkpointToFiles(tinyCheckpoint());
    const nested = flattenFolder([...files].map(([n, b]) => [`run/checkpoint-40/${n}`, b] as [string, Uint8Array]));
    expect([...nested.keys()]).toEqual([...files.keys()]);
    expect(() =>
      flattenFolder([
        ['a/config.json', new Uint8Array(1)],
        ['b/config.json', new Uint8Array(1)],
      ]),
    ).toThrow(/two files named config.json/);
  });
});

describe('zip', () => {
  it('export then import gives identical weights and training state; entries sit in one folder', () => {
    const ckpt = tinyCheckpoint({ training: true });
    const bytes = concatBytes(checkpointToZip(ckpt, 'my run / step 40'));
    const { files } = unzip(bytes);
    expect(files.map(([p]) => p)).toContain('my-run-step-40/model.safetensors');
    expectSameCheckpoint(checkpointFromZip(bytes), ckpt);
  });

  it('reads zips made by other tools (fflate zipSync, deflated weights, README ignored)', () => {
    const files = checkpointToFiles(tinyCheckpoint());
    const bytes = zipSync(
      { 'gpt2-tiny': { ...Object.fromEntries(files), 'README.md': new TextEncoder().encode('# hi') } },
      { level: 9 },
    );
    expectSameWeights(checkpointFromZip(bytes).weights, tinyCheckpoint().weights);
  });

  it('imports dropped files, reading only the checkpoint files', async () => {
    const files = checkpointToFiles(tinyCheckpoint());
    let readmeRead = false;
    const dropped = [...files].map(([name, b]) => ({ name, arrayBuffer: async () => b.slice().buffer }));
    dropped.push({ name: 'README.md', arrayBuffer: async () => ((readmeRead = true), new ArrayBuffer(1)) });
    const back = checkpointFromFiles(await checkpointFilesFromDrop(dropped));
    expectSameWeights(back.weights, tinyCheckpoint().weights);
    expect(readmeRead).toBe(false);
    const zipped = concatBytes(checkpointToZip(tinyCheckpoint(), 'x'));
    const fromZip = await checkpointFilesFromDrop([{ name: 'x.zip', arrayBuffer: async () => zipped.slice().buffer }]);
    expect(fromZip.has('model.safetensors')).toBe(true);
  });

  it('computes the standard CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
