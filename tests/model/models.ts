// Models for the model tests.
import { rng } from '../helpers.ts';
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
