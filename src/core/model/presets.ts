// The models the page and the CLI offer to make from scratch, from a toy that trains in seconds on a CPU emulation
// up to GPT-2 124M, Llama-style and GPT-NeoX ones beside them, and a new model's whole config from a preset and its
// tokenizer.
import { DEFAULT_DROPOUT, GPT2_VOCAB_SIZE, makeGpt2Config, type GPT2Dims } from './families/gpt2_config.ts';
import { isLlamaModelType, makeLlamaConfig, type LlamaDims } from './families/llama_config.ts';
import { isNeoXModelType, makeNeoXConfig, type NeoXDims } from './families/gpt_neox_config.ts';
import { isGptNeoModelType, makeGptNeoConfig, type GptNeoDims } from './families/gpt_neo_config.ts';
import type { ModelConfig, ModelDims } from './families/index.ts';

type WithoutVocab<D> = Omit<D, 'vocab_size'> & { vocab_size?: number };

export interface Preset {
  id: string;
  label: string;
  dims: WithoutVocab<GPT2Dims> | WithoutVocab<LlamaDims> | WithoutVocab<NeoXDims> | WithoutVocab<GptNeoDims>;
}

/** vocab_size comes from the tokenizer unless the preset fixes it (GPT-2's own sizes use GPT-2's vocabulary). */
export const PRESETS: Preset[] = [
  {
    id: 'toy',
    label: 'Toy (1 layer, 32 wide)',
    dims: { n_positions: 64, n_embd: 32, n_layer: 1, n_head: 2, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'tiny',
    label: 'Tiny (2 layers, 128 wide)',
    dims: { n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'small',
    label: 'Small (4 layers, 256 wide)',
    dims: { n_positions: 256, n_embd: 256, n_layer: 4, n_head: 4, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'mini',
    label: 'Mini (6 layers, 384 wide)',
    dims: { n_positions: 512, n_embd: 384, n_layer: 6, n_head: 6, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'gpt2',
    label: 'GPT-2 124M (12 layers, 768 wide)',
    dims: {
      vocab_size: GPT2_VOCAB_SIZE,
      n_positions: 1024,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      layer_norm_epsilon: 1e-5,
    },
  },
  {
    id: 'llama-tiny',
    label: 'Llama tiny (2 layers, 128 wide, 4 heads sharing 2 key/value heads)',
    dims: {
      model_type: 'llama',
      max_position_embeddings: 128,
      hidden_size: 128,
      intermediate_size: 352,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
    },
  },
  {
    // HuggingFaceTB/SmolLM2-135M's shape (its vocabulary comes from the tokenizer)
    id: 'smollm2-135m',
    label: 'SmolLM2-135M shape (Llama, 30 layers, 576 wide, 9 heads sharing 3 key/value heads)',
    dims: {
      model_type: 'llama',
      max_position_embeddings: 8192,
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      rms_norm_eps: 1e-5,
      rope_theta: 100000,
      tie_word_embeddings: true,
    },
  },
  {
    id: 'neox-tiny',
    label: 'GPT-NeoX tiny (2 layers, 128 wide, 8 of 32 dims a head rotated)',
    dims: {
      model_type: 'gpt_neox',
      max_position_embeddings: 128,
      hidden_size: 128,
      intermediate_size: 512,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      layer_norm_eps: 1e-5,
      rotary_pct: 0.25,
      rotary_emb_base: 10000,
      use_parallel_residual: true,
    },
  },
  {
    // EleutherAI/pythia-70m's shape, its padded vocabulary included (70,426,624 parameters)
    id: 'pythia-70m',
    label: 'Pythia-70M shape (GPT-NeoX, 6 layers, 512 wide, 8 heads, untied head)',
    dims: {
      model_type: 'gpt_neox',
      vocab_size: 50304,
      max_position_embeddings: 2048,
      hidden_size: 512,
      intermediate_size: 2048,
      num_hidden_layers: 6,
      num_attention_heads: 8,
      layer_norm_eps: 1e-5,
      rotary_pct: 0.25,
      rotary_emb_base: 10000,
      use_parallel_residual: true,
    },
  },
  {
    id: 'gpt-neo-tiny',
    label: 'GPT-Neo tiny (2 layers, 128 wide, a global and a local layer of window 64)',
    dims: {
      model_type: 'gpt_neo',
      max_position_embeddings: 128,
      hidden_size: 128,
      num_layers: 2,
      num_heads: 4,
      attention_types: [[['global', 'local'], 1]],
      window_size: 64,
      layer_norm_epsilon: 1e-5,
    },
  },
  {
    // roneneldan/TinyStories-33M's shape, GPT-2's vocabulary included
    id: 'tinystories-33m',
    label: 'TinyStories-33M shape (GPT-Neo, 4 layers, 768 wide, global and local layers of window 256)',
    dims: {
      model_type: 'gpt_neo',
      vocab_size: GPT2_VOCAB_SIZE,
      max_position_embeddings: 2048,
      hidden_size: 768,
      num_layers: 4,
      num_heads: 16,
      attention_types: [[['global', 'local'], 2]],
      window_size: 256,
      layer_norm_epsilon: 1e-5,
    },
  },
];

export function presetDims(id: string, vocabSize: number): ModelDims {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`unknown model preset '${id}' (known: ${PRESETS.map((x) => x.id).join(', ')})`);
  return { ...p.dims, vocab_size: p.dims.vocab_size ?? vocabSize } as ModelDims;
}

/**
 * A new model's config: the preset's shape, the tokenizer's vocabulary and end-of-text id, and for GPT-2 `dropout` as
 * its embd_pdrop, attn_pdrop and resid_pdrop (Hugging Face's GPT2Config default, 0.1, unless given), for GPT-Neo as
 * its embed_dropout, attention_dropout and resid_dropout; Llama-family and GPT-NeoX models train without dropout, as
 * their configs' attention_dropout 0.
 */
export function presetConfig(
  presetId: string,
  tokenizer: { vocabSize: number; eosTokenId: number },
  dropout = DEFAULT_DROPOUT,
): ModelConfig {
  const d = presetDims(presetId, tokenizer.vocabSize);
  if (d.vocab_size < tokenizer.vocabSize) {
    throw new Error(
      `preset '${presetId}' has ${d.vocab_size} token embeddings, fewer than the tokenizer's ${tokenizer.vocabSize} ids`,
    );
  }
  if (isLlamaModelType(d.model_type)) {
    return makeLlamaConfig(d.model_type, {
      ...(d as LlamaDims),
      bos_token_id: tokenizer.eosTokenId,
      eos_token_id: tokenizer.eosTokenId,
    });
  }
  if (isGptNeoModelType(d.model_type)) {
    // GPT-Neo's three dropouts are GPT-2's under other names
    return makeGptNeoConfig({
      ...(d as GptNeoDims),
      resid_dropout: dropout,
      embed_dropout: dropout,
      attention_dropout: dropout,
    });
  }
  if (isNeoXModelType(d.model_type)) {
    return makeNeoXConfig({
      ...(d as NeoXDims),
      bos_token_id: tokenizer.eosTokenId,
      eos_token_id: tokenizer.eosTokenId,
    });
  }
  const g = d as GPT2Dims;
  return makeGpt2Config({
    vocab_size: g.vocab_size,
    n_positions: g.n_positions,
    n_embd: g.n_embd,
    n_layer: g.n_layer,
    n_head: g.n_head,
    layer_norm_epsilon: g.layer_norm_epsilon,
    embd_pdrop: dropout,
    attn_pdrop: dropout,
    resid_pdrop: dropout,
    bos_token_id: tokenizer.eosTokenId,
    eos_token_id: tokenizer.eosTokenId,
  });
}
