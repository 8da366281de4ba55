// GPT-Neo's config.json: Hugging Face's GPTNeoConfig defaults, attention_types expanded to one type per layer, each
// local layer's window, the parameter count of a real model's shape, and the checks that refuse what Hearth cannot run.
import { describe, it, expect } from 'vitest';
import {
  familyOf,
  modelConfigToJson,
  parameterCount,
  parseModelConfig,
  sizesOf,
} from '../../src/core/model/families/index.ts';
import { presetConfig, presetDims } from '../../src/core/model/presets.ts';
import { gptNeoWindow, type GptNeoConfig } from '../../src/core/model/families/gpt_neo_config.ts';

// roneneldan/TinyStories-33M's config.json, as transformers wrote it
const TINYSTORIES_33M = {
  _name_or_path: 'EleutherAI/gpt-neo-125M',
  activation_function: 'gelu_new',
  architectures: ['GPTNeoForCausalLM'],
  attention_dropout: 0,
  attention_layers: ['global', 'local', 'global', 'local'],
  attention_types: [[['global', 'local'], 2]],
  bos_token_id: 50256,
  embed_dropout: 0,
  eos_token_id: 50256,
  gradient_checkpointing: false,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: null,
  layer_norm_epsilon: 1e-5,
  max_position_embeddings: 2048,
  model_type: 'gpt_neo',
  num_heads: 16,
  num_layers: 4,
  resid_dropout: 0,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  torch_dtype: 'float32',
  transformers_version: '4.28.0.dev0',
  use_cache: true,
  vocab_size: 50257,
  window_size: 256,
};

const tiny = (o: Record<string, unknown>) =>
  JSON.stringify({
    model_type: 'gpt_neo',
    vocab_size: 10,
    hidden_size: 8,
    num_layers: 2,
    num_heads: 2,
    attention_types: [[['global', 'local'], 1]],
    max_position_embeddings: 16,
    window_size: 4,
    ...o,
  });

describe('GPT-Neo config', () => {
  it("reads TinyStories-33M's config.json: its sizes, layer types, windows and 68,514,048 parameters", () => {
    const c = parseModelConfig(JSON.stringify(TINYSTORIES_33M)) as GptNeoConfig;
    expect(familyOf(c).label).toBe('GPT-Neo');
    expect(c.attention_layers).toEqual(['global', 'local', 'global', 'local']);
    expect([0, 1, 2, 3].map((l) => gptNeoWindow(c, l))).toEqual([undefined, 256, undefined, 256]);
    expect(sizesOf(c)).toEqual({
      vocab_size: 50257,
      max_position_embeddings: 2048,
      hidden_size: 768,
      num_hidden_layers: 4,
      num_attention_heads: 16,
      num_key_value_heads: 16,
      head_dim: 48,
    });
    expect(parameterCount(c)).toBe(68_514_048);
    expect(c.tie_word_embeddings).toBe(true); // GPTNeoConfig's default
    // written and read again, the same config
    expect(parseModelConfig(modelConfigToJson(c))).toEqual(c);
  });

  it("takes HF's defaults and its attribute_map names (num_attention_heads, num_hidden_layers)", () => {
    const c = parseModelConfig(
      tiny({ num_heads: undefined, num_layers: undefined, num_attention_heads: 4, num_hidden_layers: 2 }),
    ) as GptNeoConfig;
    expect(c).toMatchObject({
      architectures: ['GPTNeoForCausalLM'],
      num_heads: 4,
      num_layers: 2,
      intermediate_size: null,
      activation_function: 'gelu_new',
      resid_dropout: 0,
      embed_dropout: 0,
      attention_dropout: 0,
      bos_token_id: 9,
      eos_token_id: 9,
    });
  });

  it("has presets: gpt-neo-tiny, and TinyStories-33M's shape with its 68,514,048 parameters", () => {
    expect(parameterCount(presetDims('tinystories-33m', 100))).toBe(68_514_048); // GPT-2's vocabulary, fixed
    const c = presetConfig('gpt-neo-tiny', { vocabSize: 300, eosTokenId: 299 }, 0.2) as GptNeoConfig;
    expect(c).toMatchObject({
      model_type: 'gpt_neo',
      vocab_size: 300,
      attention_layers: ['global', 'local'],
      resid_dropout: 0.2,
      embed_dropout: 0.2,
      attention_dropout: 0.2,
      eos_token_id: 299,
    });
  });

  it.each([
    [{ attention_types: [[['global', 'local'], 2]] }, /attention_types .* gives 4 layers but num_layers is 2/],
    [{ attention_types: [[['global', 'sparse'], 1]] }, /attention_types names "sparse"/],
    [{ attention_layers: ['local', 'local'] }, /attention_layers \["local","local"\] disagrees with attention_types/],
    [{ activation_function: 'gelu' }, /activation_function "gelu" is not supported/],
    [{ hidden_size: 9 }, /hidden_size \(9\) must be divisible by num_heads \(2\)/],
    [{ window_size: 0 }, /window_size must be a positive integer/],
    [{ architectures: ['GPTNeoForSequenceClassification'] }, /architecture GPTNeoForSequenceClassification/],
    [{ resid_dropout: 1 }, /resid_dropout must be in \[0, 1\)/],
  ])('refuses %j with a reason', (overrides, message) => {
    expect(() => parseModelConfig(tiny(overrides))).toThrow(message);
  });
});
