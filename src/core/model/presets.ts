// The models the page and the CLI offer to make from scratch, from a toy that trains in seconds on a CPU emulation
// up to GPT-2 124M, and a new model's whole config from a preset and its tokenizer.
import { DEFAULT_DROPOUT, GPT2_VOCAB_SIZE, makeGpt2Config } from './families/gpt2_config.ts';
import type { ModelConfig, ModelDims } from './families/index.ts';

export interface Preset {
  id: string;
  label: string;
  dims: Omit<ModelDims, 'vocab_size'> & { vocab_size?: number };
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
];

export function presetDims(id: string, vocabSize: number): ModelDims {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`unknown model preset '${id}' (known: ${PRESETS.map((x) => x.id).join(', ')})`);
  return { ...p.dims, vocab_size: p.dims.vocab_size ?? vocabSize };
}

/**
 * A new model's config: the preset's shape, the tokenizer's vocabulary and end-of-text id, and `dropout` as its
 * embd_pdrop, attn_pdrop and resid_pdrop (Hugging Face's GPT2Config default, 0.1, unless given).
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
  return makeGpt2Config({
    vocab_size: d.vocab_size,
    n_positions: d.n_positions,
    n_embd: d.n_embd,
    n_layer: d.n_layer,
    n_head: d.n_head,
    layer_norm_epsilon: d.layer_norm_epsilon,
    embd_pdrop: dropout,
    attn_pdrop: dropout,
    resid_pdrop: dropout,
    bos_token_id: tokenizer.eosTokenId,
    eos_token_id: tokenizer.eosTokenId,
  });
}
