// GPT-2's three dropouts (embd_pdrop, attn_pdrop, resid_pdrop) in training mode: the model against the float64
// reference model with the same hashed masks, our kernels against stock tfjs ops, gradient checkpointing against the
// plain backward, and the f16 ops passing dropout through.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { expectCheckpointingAgrees, randomModel, SMALL_DIMS } from './models.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { referenceLossAndGrads, type RefParams } from '../../src/core/model/reference/gpt2.ts';
import type { GPT2Dims } from '../../src/core/model/families/gpt2_config.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';
import { kernelOps } from '../../src/core/model/kernel_ops.ts';
import { HalfWeightCache, mixedPrecisionOps } from '../../src/core/model/mixed_ops.ts';

// As gpt.test.ts, with a different rate at each kind of site so that a mask applied at the wrong one shows.
const dims: GPT2Dims = { ...SMALL_DIMS, embd_pdrop: 0.2, attn_pdrop: 0.3, resid_pdrop: 0.25 };
const B = 2;
const T = 9;

function batch(seed: number) {
  const r = rng(seed);
  const tokens = r.ints(B * T, dims.vocab_size);
  const targets = r.ints(B * T, dims.vocab_size);
  targets[3] = -100;
  return { tokens, targets };
}

async function referenceOf(model: CausalLM, tokens: Int32Array, targets: Int32Array, dropoutSeed?: number) {
  const ref: RefParams = new Map();
  for (const [n, a] of await model.toArrays()) ref.set(n, Float64Array.from(a.data));
  return referenceLossAndGrads(model.dims as GPT2Dims, ref, tokens, targets, B, T, { dropoutSeed });
}

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('GPT-2 with dropout (training mode)', () => {
  useGpu();

  it('loss and every gradient match the float64 reference model with the same masks', async () => {
    const seed = rng().seed;
    const dropoutSeed = (seed * 7 + 1) >>> 0;
    const model = randomModel(dims, seed);
    const { tokens, targets } = batch(seed + 1);
    const expected = await referenceOf(model, tokens, targets, dropoutSeed);
    const plain = await referenceOf(model, tokens, targets);
    // The masks matter: the gradients with dropout are far from those without (the loss alone can come within
    // 3e-4 relatively, for about 1 seed in 100, closer than the comparison's tolerance).
    expect(
      relError(expected.grads.get('h.0.mlp.c_fc.weight')!, plain.grads.get('h.0.mlp.c_fc.weight')!),
    ).toBeGreaterThan(1e-2);

    const { loss, grads } = model.lossAndGrads(tokens, targets, B, T, { ops: kernelOps, dropoutSeed });
    const got = (await loss.data())[0];
    expect(relDiff(got, expected.loss), `seed ${seed}: loss ${got} vs ${expected.loss}`).toBeLessThan(1e-4);
    for (const [name, g] of grads) {
      const e = relError(await g.data(), expected.grads.get(name)!);
      expect(e, `seed ${seed}: gradient of ${name}, relative error ${e}`).toBeLessThan(1e-4);
    }
    // Without a seed (evaluation, generation) there is no dropout, whatever the rates.
    const evalLoss = model.loss(tokens, targets, B, T);
    expect(relDiff((await evalLoss.data())[0], plain.loss)).toBeLessThan(1e-4);
    tf.dispose([loss, evalLoss, ...grads.values()]);
    model.dispose();
  });

  it('the custom-kernel model and the stock-tfjs model drop the same elements', async () => {
    const seed = rng().seed;
    const model = randomModel(dims, seed);
    const { tokens, targets } = batch(seed + 7);
    const dropoutSeed = 12345;
    const a = model.lossAndGrads(tokens, targets, B, T, { ops: kernelOps, dropoutSeed });
    const b = model.lossAndGrads(tokens, targets, B, T, { ops: stockOps, dropoutSeed });
    const la = (await a.loss.data())[0];
    const lb = (await b.loss.data())[0];
    expect(relDiff(la, lb), `seed ${seed}: ${la} vs ${lb}`).toBeLessThan(1e-4);
    for (const [name, g] of a.grads) {
      const e = relError(await g.data(), await b.grads.get(name)!.data());
      expect(e, `seed ${seed}: ${name}`).toBeLessThan(1e-3);
    }
    tf.dispose([a.loss, b.loss, ...a.grads.values(), ...b.grads.values()]);
    model.dispose();
  });

  it('gradient checkpointing recomputes the same masks: the same loss and gradients as the plain backward', async () => {
    const seed = rng().seed;
    const model = randomModel(dims, seed);
    await expectCheckpointingAgrees(model, { ...batch(seed + 3), B, T }, seed, { dropoutSeed: 777 });
  });

  it('the f16-operand ops pass dropout through: close to the f32 model with the same masks', async () => {
    const seed = rng().seed;
    const model = randomModel(dims, seed);
    const { tokens, targets } = batch(seed + 5);
    const dropoutSeed = 4242;
    const cache = new HalfWeightCache();
    const f32 = model.loss(tokens, targets, B, T, { dropoutSeed });
    const f16 = model.loss(tokens, targets, B, T, { ops: mixedPrecisionOps(cache), dropoutSeed });
    const plain16 = model.loss(tokens, targets, B, T, { ops: mixedPrecisionOps(cache) });
    const [l32, l16, p16] = [(await f32.data())[0], (await f16.data())[0], (await plain16.data())[0]];
    expect(relDiff(l16, l32), `seed ${seed}: ${l16} vs ${l32}`).toBeLessThan(1e-2);
    // The f16 ops are deterministic, so without dropout passed through the two losses would be the same bits.
    expect(l16).not.toBe(p16);
    tf.dispose([f32, f16, plain16]);
    cache.clear();
    model.dispose();
  });
});
