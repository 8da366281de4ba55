// GPT-NeoX config.json: Hugging Face's defaults, both spellings of the rotary settings, config.json as transformers
// writes it, and the checks that refuse what Hearth cannot run.
import { describe, it, expect } from 'vitest';
import {
  describeDims,
  modelConfigToJson,
  parameterCount,
  parseModelConfig,
  sizesOf,
} from '../../src/core/model/families/index.ts';
import { rotaryDims, type NeoXConfig } from '../../src/core/model/families/gpt_neox_config.ts';
import { neoxInvFreq } from '../../src/core/model/families/gpt_neox.ts';
import { presetConfig, presetDims } from '../../src/core/model/presets.ts';

/** EleutherAI/pythia-70m's config.json */
const PYTHIA_70M = {
  architectures: ['GPTNeoXForCausalLM'],
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: 'gelu',
  hidden_size: 512,
  initializer_range: 0.02,
  intermediate_size: 2048,
  layer_norm_eps: 1e-5,
  max_position_embeddings: 2048,
  model_type: 'gpt_neox',
  num_attention_heads: 8,
  num_hidden_layers: 6,
  rotary_emb_base: 10000,
  rotary_pct: 0.25,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.24.0',
  use_cache: true,
  use_parallel_residual: true,
  vocab_size: 50304,
};

const tiny = (o: Record<string, unknown>) =>
  JSON.stringify({
    model_type: 'gpt_neox',
    vocab_size: 10,
    hidden_size: 16,
    intermediate_size: 12,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 16,
    ...o,
  });

describe('GPT-NeoX config.json', () => {
  it("reads Pythia-70M's config: 70,426,624 parameters, 16 of each 64-dim head rotated", () => {
    const c = parseModelConfig(JSON.stringify(PYTHIA_70M)) as NeoXConfig;
    expect(c).toMatchObject({ rotary_pct: 0.25, rotary_emb_base: 10000, use_parallel_residual: true });
    expect(sizesOf(c)).toMatchObject({ head_dim: 64, num_key_value_heads: 8, max_position_embeddings: 2048 });
    expect(rotaryDims(c)).toBe(16);
    expect(Array.from(neoxInvFreq(c))).toEqual(
      Array.from({ length: 8 }, (_, i) => Math.fround(1 / Math.pow(10000, (2 * i) / 16))),
    );
    expect(parameterCount(c)).toBe(70_426_624);
    expect(describeDims(c)).toMatch(/hidden_size 512 .* rotary dims 16 of 64/);
    // the preset of the same shape has the same parameters, whatever the tokenizer (its vocabulary is Pythia's)
    expect(parameterCount(presetDims('pythia-70m', 300))).toBe(70_426_624);
    expect(presetConfig('pythia-70m', { vocabSize: 50277, eosTokenId: 0 })).toMatchObject({
      vocab_size: 50304,
      tie_word_embeddings: false,
    });
  });

  it('makes neox-tiny from a tokenizer: its vocabulary and end-of-text id', () => {
    const c = presetConfig('neox-tiny', { vocabSize: 300, eosTokenId: 299 }) as NeoXConfig;
    expect(c).toMatchObject({
      model_type: 'gpt_neox',
      num_hidden_layers: 2,
      hidden_size: 128,
      vocab_size: 300,
      bos_token_id: 299,
      eos_token_id: 299,
    });
    expect(rotaryDims(c)).toBe(8);
  });

  it("fills HF's defaults: untied head, attention biases, parallel residual, exact GELU, rotary_pct 0.25", () => {
    const c = parseModelConfig(tiny({})) as NeoXConfig;
    expect(c).toMatchObject({
      architectures: ['GPTNeoXForCausalLM'],
      hidden_act: 'gelu',
      rotary_pct: 0.25,
      rotary_emb_base: 10000,
      rope_scaling: null,
      layer_norm_eps: 1e-5,
      use_parallel_residual: true,
      attention_bias: true,
      tie_word_embeddings: false,
      bos_token_id: 0,
      eos_token_id: 2,
    });
    expect(rotaryDims(c)).toBe(2);
  });

  it('reads partial_rotary_factor and rope_theta (and rope_parameters) as rotary_pct and rotary_emb_base', () => {
    const newer = parseModelConfig(tiny({ partial_rotary_factor: 0.5, rope_theta: 500 })) as NeoXConfig;
    expect(newer).toMatchObject({ rotary_pct: 0.5, rotary_emb_base: 500 });
    const both = parseModelConfig(tiny({ rotary_pct: 0.5, partial_rotary_factor: 0.5 })) as NeoXConfig;
    expect(both.rotary_pct).toBe(0.5);
    const nested = parseModelConfig(
      tiny({ rope_parameters: { rope_type: 'default', rope_theta: 40, partial_rotary_factor: 1 } }),
    ) as NeoXConfig;
    expect(nested).toMatchObject({ rotary_pct: 1, rotary_emb_base: 40 });
    expect(rotaryDims(nested)).toBe(8);
  });

  it('writes config.json as transformers does (both spellings), and reads it back the same', () => {
    const c = parseModelConfig(tiny({ rotary_pct: 0.5, use_parallel_residual: false })) as NeoXConfig;
    const json = JSON.parse(modelConfigToJson(c));
    expect(json).toMatchObject({
      model_type: 'gpt_neox',
      architectures: ['GPTNeoXForCausalLM'],
      rotary_pct: 0.5,
      partial_rotary_factor: 0.5,
      rotary_emb_base: 10000,
      rope_theta: 10000,
      use_parallel_residual: false,
      attention_bias: true,
      tie_word_embeddings: false,
      torch_dtype: 'float32',
    });
    expect(parseModelConfig(modelConfigToJson(c))).toEqual({ ...c, torch_dtype: 'float32' });
  });

  it('runs a model without rotary (rotary_pct 0) and one rotating whole heads (1)', () => {
    expect(rotaryDims(parseModelConfig(tiny({ rotary_pct: 0 })) as NeoXConfig)).toBe(0);
    expect(rotaryDims(parseModelConfig(tiny({ rotary_pct: 1 })) as NeoXConfig)).toBe(8);
  });

  it.each([
    [{ rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling type "linear" is not supported for GPT-NeoX/],
    [{ rope_scaling: { rope_type: 'dynamic', factor: 2 } }, /rope_scaling type "dynamic" is not supported/],
    [{ rope_parameters: { rope_type: 'yarn', factor: 2 } }, /rope_parameters rope_type "yarn" is not supported/],
    [{ hidden_act: 'relu' }, /hidden_act "relu" is not supported for GPT-NeoX; Hearth runs gelu, gelu_new, gelu_fast/],
    [{ rotary_pct: 0.375 }, /rotary_pct 0.375 of head_dim 8 rotates 3 dims, an odd number/],
    [{ rotary_pct: 1.5 }, /rotary_pct must be a number from 0 to 1/],
    [
      { rotary_pct: 0.5, partial_rotary_factor: 0.25 },
      /rotary_pct \(0.5\) and partial_rotary_factor \(0.25\) disagree/,
    ],
    [{ rotary_emb_base: 1000, rope_theta: 10000 }, /rotary_emb_base \(1000\) and rope_theta \(10000\) disagree/],
    [{ rotary_emb_base: 0 }, /rotary_emb_base must be a positive number/],
    [{ hidden_size: 15 }, /hidden_size \(15\) must be divisible by num_attention_heads \(2\)/],
    [{ layer_norm_eps: 0 }, /layer_norm_eps must be a positive number/],
    [{ use_parallel_residual: 'yes' }, /use_parallel_residual must be true or false/],
    [{ hidden_dropout: 0.1 }, /hidden_dropout 0.1 is not supported; Hearth runs GPT-NeoX without dropout/],
    [{ attention_dropout: 0.1 }, /attention_dropout 0.1 is not supported/],
    [{ architectures: ['GPTNeoXForSequenceClassification'] }, /architecture GPTNeoXForSequenceClassification/],
    [{ eos_token_id: -1 }, /bos_token_id and eos_token_id must be token ids or null/],
  ])('refuses %j with a reason', (overrides, message) => {
    expect(() => parseModelConfig(tiny(overrides))).toThrow(message);
  });
});
