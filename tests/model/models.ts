// Models for the model tests: their sizes, and models with random parameters.
import { expect } from 'vitest';
import { rng, relError, tf } from '../helpers.ts';
import { IGNORE_INDEX } from '../../src/core/util/targets.ts';
import { CausalLM, type ForwardOptions } from '../../src/core/model/causal_lm.ts';
import { parameterShapes, type ModelDims } from '../../src/core/model/families/index.ts';
import type { GPT2Dims } from '../../src/core/model/families/gpt2_config.ts';
import type { LlamaDims } from '../../src/core/model/families/llama_config.ts';
import type { NeoXDims } from '../../src/core/model/families/gpt_neox_config.ts';
import type { GptNeoDims } from '../../src/core/model/families/gpt_neo_config.ts';
import { loraShapes } from '../../src/core/model/lora/adapter.ts';
import type { LoraConfig } from '../../src/core/model/lora/config.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';

/**
 * A model with random parameters spread wider than GPT-2's initialisation (norm weights 1 ± 0.2, the rest
 * N(0, 0.3)), so logits are far apart and every path through the model carries signal.
 */
export function randomModel(d: ModelDims, seed: number): CausalLM {
  const r = rng(seed);
  const arrays = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of parameterShapes(d)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isLnWeight = /ln_|norm/.test(name) && name.endsWith('weight');
    const data = r.normals(n, isLnWeight ? 0.2 : 0.3);
    if (isLnWeight) for (let i = 0; i < n; i++) data[i] += 1;
    arrays.set(name, { shape, data });
  }
  return CausalLM.fromArrays(d, arrays);
}

/** Small but not trivially so: odd vocabulary and block, two layers, head_dim 6. */
export const SMALL_DIMS: GPT2Dims = {
  vocab_size: 37,
  n_positions: 16,
  n_embd: 12,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};

/**
 * Small Llama-family models: grouped-query attention (4 query heads on 2 key/value heads), an untied head and Llama 3
 * rope scaling; and a Qwen2 (q/k/v biases) with one key/value head and its head tied to the embedding.
 */
export const LLAMA_GQA_DIMS: LlamaDims = {
  model_type: 'llama',
  vocab_size: 37,
  max_position_embeddings: 16,
  hidden_size: 24,
  intermediate_size: 41,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 500,
  rope_scaling: {
    rope_type: 'llama3',
    factor: 4,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 32,
  },
};

export const QWEN2_TIED_DIMS: LlamaDims = {
  model_type: 'qwen2',
  vocab_size: 29,
  max_position_embeddings: 16,
  hidden_size: 20,
  intermediate_size: 33,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
};

/** A Mistral whose sliding window (4) is shorter than the test blocks, so whole key ranges fall outside it. */
export const MISTRAL_WINDOW_DIMS: LlamaDims = {
  model_type: 'mistral',
  vocab_size: 31,
  max_position_embeddings: 16,
  hidden_size: 16,
  intermediate_size: 27,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  sliding_window: 4,
};

/**
 * A small GPT-Neo: a global and a local layer, the local one's window (3) shorter than the test blocks and the
 * generated sequences; the MLP's width not 4·hidden; the head tied to wte.
 */
export const GPT_NEO_DIMS: GptNeoDims = {
  model_type: 'gpt_neo',
  vocab_size: 37,
  max_position_embeddings: 16,
  hidden_size: 12,
  num_layers: 2,
  num_heads: 2,
  attention_types: [[['global', 'local'], 1]],
  window_size: 3,
  intermediate_size: 23,
  layer_norm_epsilon: 1e-5,
};

/** The trainer tests' model: one layer, 16 wide, 19 tokens. */
export const TRAINER_DIMS: GPT2Dims = {
  vocab_size: 19,
  n_positions: 16,
  n_embd: 16,
  n_layer: 1,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};

/**
 * A task the tiny model below learns in a few hundred steps: B rows of T tokens of a repeating sequence (period 10,
 * so the next token is a function of the last two). A row's first target cannot be predicted from one token (1 is
 * followed by 4 and by 5), so it is ignored.
 */
export function repeatingSequence() {
  const dims: GPT2Dims = {
    vocab_size: 11,
    n_positions: 32,
    n_embd: 32,
    n_layer: 1,
    n_head: 2,
    layer_norm_epsilon: 1e-5,
  };
  const B = 4;
  const T = 24;
  const pattern = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = pattern[(b * 3 + t) % pattern.length];
      targets[b * T + t] = pattern[(b * 3 + t + 1) % pattern.length];
    }
    targets[b * T] = IGNORE_INDEX;
  }
  return { dims, B, T, tokens, targets };
}

/**
 * The loss and every gradient with gradient checkpointing equal the plain backward's (recomputed blocks draw the same
 * dropout masks), and neither leaves anything behind but its results. Disposes the model.
 */
export async function expectCheckpointingAgrees(
  model: CausalLM,
  batch: { tokens: Int32Array; targets: Int32Array; B: number; T: number },
  seed: number,
  opts: ForwardOptions = {},
): Promise<void> {
  const { tokens, targets, B, T } = batch;
  const before = tf.memory().numTensors;
  const a = model.lossAndGrads(tokens, targets, B, T, opts);
  const b = model.lossAndGrads(tokens, targets, B, T, { ...opts, checkpoint: true });
  expect(tf.memory().numTensors - before).toBe(2 * (1 + model.trainable.size)); // nothing else left behind
  expect((await b.loss.data())[0]).toBeCloseTo((await a.loss.data())[0], 6);
  for (const [name, g] of a.grads) {
    const e = relError(await b.grads.get(name)!.data(), await g.data());
    expect(e, `seed ${seed}: ${name}`).toBeLessThan(1e-5);
  }
  tf.dispose([a.loss, b.loss, ...a.grads.values(), ...b.grads.values()]);
  model.dispose();
}

/**
 * Small GPT-NeoX models: parallel residual with an untied head, the exact GELU and half of each 8-dim head rotated;
 * the sequential residual with no attention biases, a tied head, gelu_new and 4 of 12 dims rotated; and one layer
 * without rotary (rotary_pct 0).
 */
export const NEOX_PARALLEL_DIMS: NeoXDims = {
  model_type: 'gpt_neox',
  vocab_size: 37,
  max_position_embeddings: 16,
  hidden_size: 24,
  intermediate_size: 41,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  layer_norm_eps: 1e-5,
  rotary_pct: 0.5,
  rotary_emb_base: 500,
};

export const NEOX_SEQUENTIAL_DIMS: NeoXDims = {
  model_type: 'gpt_neox',
  vocab_size: 29,
  max_position_embeddings: 16,
  hidden_size: 24,
  intermediate_size: 33,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  layer_norm_eps: 1e-5,
  rotary_pct: 0.34,
  use_parallel_residual: false,
  attention_bias: false,
  tie_word_embeddings: true,
  hidden_act: 'gelu_new',
};

export const NEOX_NO_ROTARY_DIMS: NeoXDims = {
  model_type: 'gpt_neox',
  vocab_size: 23,
  max_position_embeddings: 16,
  hidden_size: 20,
  intermediate_size: 30,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  layer_norm_eps: 1e-5,
  rotary_pct: 0,
};

/** An adapter with B random too (a new one has B = 0, which would leave A without gradient). */
export function randomAdapter(model: CausalLM, config: LoraConfig, seed: number): NamedTensors {
  const probe = CausalLM.init(model.dims, 1);
  probe.attachLora(config, { seed: 1 });
  const shapes = loraShapes(probe.lora!.targets, config.r);
  probe.dispose();
  const r = rng(seed);
  return new Map(shapes.map(([n, s]) => [n, { shape: s, data: r.normals(s[0] * s[1], 0.3) }]));
}
