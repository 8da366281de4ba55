// Models for the model tests: their sizes, and models with random parameters.
import { rng } from '../helpers.ts';
import { IGNORE_INDEX } from '../../src/core/util/targets.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { parameterShapes, type ModelDims } from '../../src/core/model/families/index.ts';

/**
 * A model with random parameters spread wider than GPT-2's initialisation (LayerNorm weights 1 ± 0.2, the rest
 * N(0, 0.3)), so logits are far apart and every path through the model carries signal.
 */
export function randomModel(d: ModelDims, seed: number): CausalLM {
  const r = rng(seed);
  const arrays = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of parameterShapes(d)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isLnWeight = name.includes('ln_') && name.endsWith('weight');
    const data = r.normals(n, isLnWeight ? 0.2 : 0.3);
    if (isLnWeight) for (let i = 0; i < n; i++) data[i] += 1;
    arrays.set(name, { shape, data });
  }
  return CausalLM.fromArrays(d, arrays);
}

/** Small but not trivially so: odd vocabulary and block, two layers, head_dim 6. */
export const SMALL_DIMS: ModelDims = {
  vocab_size: 37,
  n_positions: 16,
  n_embd: 12,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};

/** The trainer tests' model: one layer, 16 wide, 19 tokens. */
export const TRAINER_DIMS: ModelDims = {
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
  const dims: ModelDims = {
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
