// The training-memory estimate (what the page, the CLI and the fit check tell users) against the GPU buffers a real
// training step holds at its peak, for a few small GPT-2, Llama-family, GPT-NeoX and GPT-Neo models, with and without
// gradient checkpointing, fp16, both AdamW updates, both backwards and LoRA. The estimate that only summed weights,
// gradients, moments and the saved activations said about half of what was measured.
import { describe, it, expect } from 'vitest';
import { useGpu } from '../helpers.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import type { GPT2Dims } from '../../src/core/model/families/gpt2_config.ts';
import type { LlamaDims } from '../../src/core/model/families/llama_config.ts';
import type { NeoXDims } from '../../src/core/model/families/gpt_neox_config.ts';
import type { GptNeoDims } from '../../src/core/model/families/gpt_neo_config.ts';
import { familyOf, type ModelDims } from '../../src/core/model/families/index.ts';
import { DEFAULT_LORA_CONFIG, loraMemoryTerms, type LoraConfig } from '../../src/core/model/lora/config.ts';
import { measureTrainingStep, type StepMemoryOptions } from '../../bench/memory_probe.ts';

useGpu();

const TOY: GPT2Dims = { vocab_size: 96, n_positions: 32, n_embd: 32, n_layer: 1, n_head: 2, layer_norm_epsilon: 1e-5 };
// a vocabulary large beside the width, so the logits and the tied embedding's gradients weigh in
const WIDE_VOCAB: GPT2Dims = {
  vocab_size: 700,
  n_positions: 48,
  n_embd: 48,
  n_layer: 2,
  n_head: 3,
  layer_norm_epsilon: 1e-5,
};

const LARGE_VOCAB: GPT2Dims = {
  vocab_size: 4000,
  n_positions: 16,
  n_embd: 64,
  n_layer: 1,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};

// Llama-family toys: grouped-query attention with an untied head; a Qwen2 with one key/value head and a tied head
const LLAMA_TOY: LlamaDims = {
  model_type: 'llama',
  vocab_size: 96,
  max_position_embeddings: 32,
  hidden_size: 32,
  intermediate_size: 88,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
};
const QWEN2_WIDE_VOCAB: LlamaDims = {
  model_type: 'qwen2',
  vocab_size: 700,
  max_position_embeddings: 48,
  hidden_size: 48,
  intermediate_size: 100,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
};

// GPT-NeoX toys: parallel residual with an untied head; sequential residual with a tied head and a wide vocabulary
const NEOX_TOY: NeoXDims = {
  model_type: 'gpt_neox',
  vocab_size: 96,
  max_position_embeddings: 32,
  hidden_size: 32,
  intermediate_size: 128,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  layer_norm_eps: 1e-5,
};
const NEOX_SEQUENTIAL_WIDE_VOCAB: NeoXDims = {
  model_type: 'gpt_neox',
  vocab_size: 700,
  max_position_embeddings: 48,
  hidden_size: 48,
  intermediate_size: 100,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  layer_norm_eps: 1e-5,
  rotary_pct: 0.5,
  use_parallel_residual: false,
  tie_word_embeddings: true,
};
// GPT-Neo: a global and a local layer, the head tied; and one with dropout
const GPT_NEO_TOY: GptNeoDims = {
  model_type: 'gpt_neo',
  vocab_size: 300,
  max_position_embeddings: 48,
  hidden_size: 48,
  num_layers: 2,
  num_heads: 3,
  attention_types: [[['global', 'local'], 1]],
  window_size: 8,
  layer_norm_epsilon: 1e-5,
};

const CASES: { label: string; dims: ModelDims; B: number; T: number; opts: StepMemoryOptions }[] = [
  { label: 'toy', dims: TOY, B: 3, T: 17, opts: {} },
  { label: 'toy, gradient checkpointing', dims: TOY, B: 3, T: 17, opts: { checkpoint: true } },
  { label: 'wide vocab', dims: WIDE_VOCAB, B: 2, T: 33, opts: {} },
  { label: 'wide vocab, gradient checkpointing', dims: WIDE_VOCAB, B: 2, T: 33, opts: { checkpoint: true } },
  // tfjs's own backward, which keeps every gradient to its end
  { label: 'wide vocab, tfjs backward', dims: WIDE_VOCAB, B: 2, T: 33, opts: { backward: 'tfjs' } },
  {
    label: 'toy, gradient checkpointing, tfjs backward',
    dims: TOY,
    B: 3,
    T: 17,
    opts: { checkpoint: true, backward: 'tfjs' },
  },
  { label: 'wide vocab, per-tensor AdamW', dims: WIDE_VOCAB, B: 2, T: 33, opts: { optimizer: 'per-tensor' } },
  { label: 'wide vocab, fp16', dims: WIDE_VOCAB, B: 2, T: 33, opts: { fp16: true } },
  // a step whose peak is AdamW's update: three new copies of wte beside everything persistent
  {
    label: 'large vocab, one short row, per-tensor AdamW, checkpointing',
    dims: LARGE_VOCAB,
    B: 1,
    T: 8,
    opts: { optimizer: 'per-tensor', checkpoint: true },
  },
  { label: 'llama toy, grouped-query attention, untied head', dims: LLAMA_TOY, B: 3, T: 17, opts: {} },
  { label: 'llama toy, gradient checkpointing', dims: LLAMA_TOY, B: 3, T: 17, opts: { checkpoint: true } },
  { label: 'qwen2 wide vocab, tied head', dims: QWEN2_WIDE_VOCAB, B: 2, T: 33, opts: {} },
  { label: 'gpt_neox toy, parallel residual, untied head', dims: NEOX_TOY, B: 3, T: 17, opts: {} },
  { label: 'gpt_neox toy, gradient checkpointing', dims: NEOX_TOY, B: 3, T: 17, opts: { checkpoint: true } },
  {
    label: 'gpt_neox wide vocab, sequential residual, tied head',
    dims: NEOX_SEQUENTIAL_WIDE_VOCAB,
    B: 2,
    T: 33,
    opts: {},
  },
  { label: 'gpt-neo toy, global and local layers', dims: GPT_NEO_TOY, B: 2, T: 33, opts: {} },
  { label: 'gpt-neo toy, gradient checkpointing', dims: GPT_NEO_TOY, B: 2, T: 33, opts: { checkpoint: true } },
  {
    label: 'gpt-neo toy, dropout',
    dims: { ...GPT_NEO_TOY, resid_dropout: 0.1, embed_dropout: 0.1, attention_dropout: 0.1 },
    B: 2,
    T: 33,
    opts: {},
  },
  {
    label: 'wide vocab, dropout',
    dims: { ...WIDE_VOCAB, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 },
    B: 2,
    T: 33,
    opts: {},
  },
  // LoRA: the frozen model's weights, the adapter's gradients and moments, the adapted layers' extra rows
  { label: 'gpt_neox toy, LoRA all-linear r 8', dims: NEOX_TOY, B: 3, T: 17, opts: { lora: lora(8, 'all-linear') } },
  {
    label: 'gpt-neo toy, LoRA q_proj v_proj r 4, checkpointing',
    dims: GPT_NEO_TOY,
    B: 2,
    T: 33,
    opts: { lora: lora(4, null), checkpoint: true },
  },
  // LoRA with the frozen linear weights in f16, as the CLI and the page train
  {
    label: 'llama toy, LoRA q_proj k_proj v_proj o_proj r 4, f16 base',
    dims: LLAMA_TOY,
    B: 3,
    T: 17,
    opts: { lora: lora(4, ['q_proj', 'k_proj', 'v_proj', 'o_proj']), halfBase: true },
  },
  {
    label: 'qwen2 wide vocab, LoRA all-linear r 8, f16 base, checkpointing',
    dims: QWEN2_WIDE_VOCAB,
    B: 2,
    T: 33,
    opts: { lora: lora(8, 'all-linear'), halfBase: true, checkpoint: true },
  },
];

function lora(r: number, target_modules: LoraConfig['target_modules']): LoraConfig {
  return { ...DEFAULT_LORA_CONFIG, r, lora_alpha: 2 * r, target_modules };
}

/** The estimate's options for a measured step's: a LoRA config as its memory terms. */
const estimateOptions = (dims: ModelDims, o: StepMemoryOptions) => ({
  ...o,
  lora: o.lora && loraMemoryTerms(familyOf(dims), dims, o.lora, { halfBase: o.halfBase }),
});

describe('training memory estimate', () => {
  for (const c of CASES) {
    it(`is within 0.8–1.3× of the measured peak of GPU buffers: ${c.label}`, async () => {
      const measured = await measureTrainingStep(c.dims, c.B, c.T, c.opts);
      const estimate = estimateTrainingMemory(c.dims, c.B, c.T, estimateOptions(c.dims, c.opts));
      const ratio = estimate.total / measured.buffers;
      expect(ratio, `estimate ${estimate.total} B, measured ${measured.buffers} B`).toBeGreaterThan(0.8);
      expect(ratio, `estimate ${estimate.total} B, measured ${measured.buffers} B`).toBeLessThan(1.3);
    });
  }

  it('adds up its terms, and checkpointing, fp16 and the AdamW update move the right ones', () => {
    const plain = estimateTrainingMemory(WIDE_VOCAB, 4, 48);
    const { weights, gradients, optimizer, activations, workspace } = plain;
    expect(plain.total).toBe(weights + gradients + optimizer + activations + workspace);
    expect(plain.optimizerKind).toBe('packed'); // small models: the trainer's choice
    expect(estimateTrainingMemory(WIDE_VOCAB, 4, 48, { optimizer: 'per-tensor' }).optimizer).toBe(optimizer / 2);
    const checkpointed = estimateTrainingMemory(WIDE_VOCAB, 4, 48, { checkpoint: true });
    expect(checkpointed.activations + checkpointed.workspace).toBeLessThan(activations + workspace);
    expect(estimateTrainingMemory(WIDE_VOCAB, 4, 48, { fp16: true }).weights).toBeGreaterThan(weights);
    // the running sum of the gradients, P floats, beside whatever the step holds at its peak
    expect(estimateTrainingMemory(WIDE_VOCAB, 4, 48, { accumulation: 4 }).gradients).toBe(
      gradients + 4 * plain.parameters,
    );
    const stock = estimateTrainingMemory(WIDE_VOCAB, 4, 48, { backward: 'tfjs' });
    expect(stock.workspace).toBeGreaterThan(workspace); // tfjs's backward keeps every activation's gradient
  });
});
