// Llama-family config.json: Hugging Face's defaults per model_type, the checks that refuse what Hearth cannot run,
// and RoPE's inverse frequencies with and without Llama 3's scaling.
import { describe, it, expect } from 'vitest';
import { parseModelConfig, parameterCount, sizesOf } from '../../src/core/model/families/index.ts';
import { slidingWindow, type LlamaConfig } from '../../src/core/model/families/llama_config.ts';
import { ropeInvFreq } from '../../src/core/model/rope.ts';
import { presetConfig, presetDims } from '../../src/core/model/presets.ts';

const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: 'silu',
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  vocab_size: 49152,
};

const tiny = (o: Record<string, unknown>) =>
  JSON.stringify({
    model_type: 'llama',
    vocab_size: 10,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 16,
    ...o,
  });

describe('Llama-family config.json', () => {
  it("reads SmolLM2-135M's config: 134,515,008 parameters, head_dim 64, 3 key/value heads", () => {
    const c = parseModelConfig(JSON.stringify(SMOLLM2_135M)) as LlamaConfig;
    expect(c).toMatchObject({ head_dim: 64, num_key_value_heads: 3, tie_word_embeddings: true, rope_theta: 100000 });
    expect(sizesOf(c)).toMatchObject({ num_key_value_heads: 3, head_dim: 64, max_position_embeddings: 8192 });
    expect(parameterCount(c)).toBe(134_515_008);
    // the preset of the same shape, with the same vocabulary, has the same parameters
    expect(parameterCount(presetDims('smollm2-135m', 49152))).toBe(134_515_008);
  });

  it("fills HF's defaults per model_type", () => {
    const llama = parseModelConfig(tiny({})) as LlamaConfig;
    expect(llama).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      num_key_value_heads: 2,
      head_dim: 4,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: 2,
    });
    const qwen = parseModelConfig(tiny({ model_type: 'qwen2', vocab_size: 151936 })) as LlamaConfig;
    expect(qwen).toMatchObject({ architectures: ['Qwen2ForCausalLM'], num_key_value_heads: 2, bos_token_id: null });
    const mistral = parseModelConfig(tiny({ model_type: 'mistral', num_key_value_heads: 1, sliding_window: null }));
    expect(mistral).toMatchObject({ architectures: ['MistralForCausalLM'], num_key_value_heads: 1 });
    const presetModel = presetConfig('llama-tiny', { vocabSize: 300, eosTokenId: 299 });
    expect(presetModel).toMatchObject({
      model_type: 'llama',
      num_key_value_heads: 2,
      eos_token_id: 299,
      vocab_size: 300,
    });
  });

  it.each([
    [{ num_key_value_heads: 3 }, /num_attention_heads \(2\) must be a multiple of num_key_value_heads \(3\)/],
    [{ hidden_size: 9 }, /hidden_size \(9\) must be divisible by num_attention_heads \(2\)/],
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type "yarn" is not supported/],
    [{ architectures: ['LlamaForSequenceClassification'] }, /architecture LlamaForSequenceClassification/],
    [{ model_type: 'mistral', num_key_value_heads: 1, sliding_window: 0 }, /sliding_window must be a positive integer/],
    [{ model_type: 'qwen2', max_window_layers: -1 }, /max_window_layers must be a whole number of layers/],
    [
      { model_type: 'falcon' },
      /model_type "falcon"; Hearth runs GPT-2 models .*Llama models .*Qwen2 models .*GPT-NeoX.*GPT-Neo/,
    ],
    [{ rms_norm_eps: 0 }, /rms_norm_eps must be a positive number/],
  ])('refuses %j with a reason', (overrides, message) => {
    expect(() => parseModelConfig(tiny(overrides))).toThrow(message);
  });

  it('windows the layers transformers windows: every Mistral layer, Qwen2 from max_window_layers on', () => {
    const windows = (o: Record<string, unknown>) => {
      const c = parseModelConfig(tiny({ num_hidden_layers: 3, ...o })) as LlamaConfig;
      return [0, 1, 2].map((l) => slidingWindow(c, l));
    };
    expect(windows({ model_type: 'mistral', num_key_value_heads: 1, sliding_window: 8 })).toEqual([8, 8, 8]);
    expect(windows({ model_type: 'mistral', num_key_value_heads: 1 })).toEqual([4096, 4096, 4096]); // HF's default
    expect(windows({ model_type: 'mistral', num_key_value_heads: 1, sliding_window: null })).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const qwen2 = { model_type: 'qwen2', sliding_window: 4, max_window_layers: 1 };
    expect(windows({ ...qwen2, use_sliding_window: true })).toEqual([undefined, 4, 4]);
    expect(windows(qwen2)).toEqual([undefined, undefined, undefined]); // use_sliding_window defaults to false
    expect(windows({ model_type: 'llama', sliding_window: 4 })).toEqual([undefined, undefined, undefined]);
  });
});

describe('RoPE inverse frequencies', () => {
  it('default: θ^(−2i/d)', () => {
    const inv = ropeInvFreq(8, 10000);
    expect(Array.from(inv)).toEqual([1, 0.1, 0.01, 0.001].map(Math.fround));
  });

  it("llama3 (Llama 3.1's scaling): high frequencies kept, low ones divided by factor, a smooth blend between", () => {
    const scaling = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    const plain = ropeInvFreq(128, 500000);
    const scaled = ropeInvFreq(128, 500000, scaling);
    for (let i = 0; i < 64; i++) {
      const wavelen = (2 * Math.PI) / plain[i];
      if (wavelen < 8192 / 4) expect(scaled[i]).toBe(plain[i]);
      else if (wavelen > 8192) expect(scaled[i]).toBeCloseTo(plain[i] / 8, 12);
      else {
        const smooth = (8192 / wavelen - 1) / (4 - 1);
        expect(scaled[i]).toBeCloseTo((1 - smooth) * (plain[i] / 8) + smooth * plain[i], 9);
        expect(scaled[i]).toBeLessThan(plain[i]);
        expect(scaled[i]).toBeGreaterThan(plain[i] / 8);
      }
    }
    expect(scaled.filter((f, i) => f !== plain[i]).length).toBeGreaterThan(20);
  });
});
