import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { expectCheckpointingAgrees, randomModel, SMALL_DIMS } from './models.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { referenceLossAndGrads, type RefParams } from '../../src/core/model/reference/gpt2.ts';
import { parameterCount } from '../../src/core/model/families/index.ts';
import type { GPT2Dims } from '../../src/core/model/families/gpt2_config.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { presetDims } from '../../src/core/model/presets.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';
import { kernelOps } from '../../src/core/model/kernel_ops.ts';

const dims = SMALL_DIMS;
const B = 2;
const T = 9;

function batch(seed: number) {
  const r = rng(seed);
  const tokens = r.ints(B * T, dims.vocab_size);
  const targets = r.ints(B * T, dims.vocab_size);
  targets[3] = -100; // an ignored position, as the collator gives for padding
  return { tokens, targets };
}

describe('GPT-2 model', () => {
  useGpu();

  it('loss and every gradient match the float64 reference model', async () => {
    const seed = rng().seed;
    const model = randomModel(dims, seed);
    const { tokens, targets } = batch(seed + 1);
    const ref: RefParams = new Map();
    for (const [n, a] of await model.toArrays()) ref.set(n, Float64Array.from(a.data));
    const expected = referenceLossAndGrads(dims, ref, tokens, targets, B, T);

    const { loss, grads } = model.lossAndGrads(tokens, targets, B, T, { ops: kernelOps });
    const got = (await loss.data())[0];
    expect(Math.abs(got - expected.loss) / expected.loss, `seed ${seed}: loss ${got} vs ${expected.loss}`).toBeLessThan(
      1e-4,
    );
    for (const [name, g] of grads) {
      const e = relError(await g.data(), expected.grads.get(name)!);
      expect(e, `seed ${seed}: gradient of ${name}, relative error ${e}`).toBeLessThan(1e-4);
    }
    const logits = model.forward(tokens, B, T);
    expect(relError(await logits.data(), expected.logits), 'logits').toBeLessThan(1e-4);
    tf.dispose([loss, logits, ...grads.values()]);
    model.dispose();
  });

  it('the custom-kernel model and the stock-tfjs model give the same loss and gradients', async () => {
    const seed = rng().seed;
    const model = randomModel(dims, seed);
    const { tokens, targets } = batch(seed + 7);
    const a = model.lossAndGrads(tokens, targets, B, T, { ops: kernelOps });
    const b = model.lossAndGrads(tokens, targets, B, T, { ops: stockOps });
    const la = (await a.loss.data())[0];
    const lb = (await b.loss.data())[0];
    expect(Math.abs(la - lb) / lb, `seed ${seed}: ${la} vs ${lb}`).toBeLessThan(1e-4);
    for (const [name, g] of a.grads) {
      const e = relError(await g.data(), await b.grads.get(name)!.data());
      expect(e, `seed ${seed}: ${name}`).toBeLessThan(1e-3); // both float32: tolerance covers two roundings
    }
    tf.dispose([a.loss, b.loss, ...a.grads.values(), ...b.grads.values()]);
    model.dispose();
  });

  it('gradient checkpointing (recomputing each block in the backward pass) gives the same loss and gradients', async () => {
    const seed = rng().seed;
    const model = randomModel(dims, seed);
    await expectCheckpointingAgrees(model, { ...batch(seed + 3), B, T }, seed);
  });

  it('reports parameter count and training memory; GPT-2 124M has 124,439,808 parameters', () => {
    const gpt2 = presetDims('gpt2', 50257);
    expect(parameterCount(gpt2)).toBe(124_439_808);
    const mem = estimateTrainingMemory(gpt2, 4, 128);
    expect(mem.weights).toBe(4 * 124_439_808);
    expect(mem.optimizer).toBe(2 * mem.weights);
    expect(mem.total).toBeGreaterThan(mem.weights + mem.gradients + mem.optimizer);
  });

  it('initialises as GPT-2 does: N(0, 0.02), residual projections scaled by 1/√(2·n_layer)', async () => {
    const big: GPT2Dims = {
      vocab_size: 64,
      n_positions: 32,
      n_embd: 64,
      n_layer: 8,
      n_head: 4,
      layer_norm_epsilon: 1e-5,
    };
    const model = CausalLM.init(big, 3);
    const std = async (n: string) => {
      const d = await model.p(n).data();
      let s = 0;
      for (const x of d) s += x * x;
      return Math.sqrt(s / d.length);
    };
    expect(await std('h.0.mlp.c_fc.weight')).toBeCloseTo(0.02, 3);
    expect(await std('h.0.mlp.c_proj.weight')).toBeCloseTo(0.02 / Math.sqrt(16), 3);
    expect(await std('h.0.attn.c_proj.weight')).toBeCloseTo(0.02 / Math.sqrt(16), 3);
    expect(Array.from(await model.p('ln_f.weight').data()).every((x) => x === 1)).toBe(true);
    expect(Array.from(await model.p('h.3.attn.c_attn.bias').data()).every((x) => x === 0)).toBe(true);
    model.dispose();
  });
});
