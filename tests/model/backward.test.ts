// The freeing backward (backward.ts) against tfjs's own: the same loss and gradients bit for bit (GPT-2 with
// dropout, with and without gradient checkpointing, in mixed precision; Llama-family models with and without
// checkpointing), nothing left behind, the same GPU dispatches, and a lower measured peak of GPU memory.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, tf } from '../helpers.ts';
import { randomModel, LLAMA_GQA_DIMS, QWEN2_TIED_DIMS, SMALL_DIMS } from './models.ts';
import type { GradientOptions } from '../../src/core/model/causal_lm.ts';
import type { ModelDims } from '../../src/core/model/families/index.ts';
import type { GPT2Dims } from '../../src/core/model/families/gpt2_config.ts';
import { gradients } from '../../src/core/model/backward.ts';
import { MixedPrecision } from '../../src/core/train/mixed_precision.ts';
import { measureTrainingStep } from '../../bench/memory_probe.ts';

useGpu();

const B = 2;
const T = 9;
const DROPOUT: GPT2Dims = { ...SMALL_DIMS, embd_pdrop: 0.2, attn_pdrop: 0.3, resid_pdrop: 0.25 };

const bits = async (t: tf.Tensor) => new Uint32Array(((await t.data()) as Float32Array).slice().buffer);

/** Both backwards on one model and batch: equal bits everywhere, and only their results left behind. */
async function expectSameBits(dims: ModelDims, opts: GradientOptions, mixed?: MixedPrecision): Promise<void> {
  const seed = rng().seed;
  const model = randomModel(dims, seed);
  const r = rng(seed + 1);
  const tokens = r.ints(B * T, dims.vocab_size);
  const targets = r.ints(B * T, dims.vocab_size);
  targets[3] = -100;
  const run = (backward: 'tfjs' | 'freeing') => {
    const before = tf.memory().numTensors;
    const out = model.lossAndGrads(tokens, targets, B, T, { ...opts, ...(mixed ? { ops: mixed.ops } : {}), backward });
    mixed?.endStep(); // the f16 weight copies, which live for the step, are not the backward's
    expect(tf.memory().numTensors - before, `${backward}: tensors left beside the results`).toBe(1 + out.grads.size);
    return out;
  };
  const stock = run('tfjs');
  const freeing = run('freeing');
  expect(await bits(freeing.loss), `seed ${seed}: loss`).toEqual(await bits(stock.loss));
  expect([...freeing.grads.keys()]).toEqual([...stock.grads.keys()]);
  for (const [name, g] of stock.grads)
    expect(await bits(freeing.grads.get(name)!), `seed ${seed}: gradient of ${name}`).toEqual(await bits(g));
  tf.dispose([stock.loss, freeing.loss, ...stock.grads.values(), ...freeing.grads.values()]);
  model.dispose();
}

describe('the freeing backward gives tfjs’s gradients bit for bit', () => {
  for (const checkpoint of [false, true]) {
    const how = checkpoint ? ', gradient checkpointing' : '';
    it(`GPT-2 with dropout${how}`, () => expectSameBits(DROPOUT, { dropoutSeed: 11, checkpoint }));
    it(`Llama, grouped-query attention, untied head${how}`, () => expectSameBits(LLAMA_GQA_DIMS, { checkpoint }));
  }
  it('Qwen2, tied head', () => expectSameBits(QWEN2_TIED_DIMS, {}));

  it('GPT-2 in mixed precision (f16 operands, loss scaling)', async () => {
    const mixed = new MixedPrecision();
    try {
      await expectSameBits(DROPOUT, { dropoutSeed: 5 }, mixed);
    } finally {
      mixed.dispose();
    }
  });
});

describe('gradients', () => {
  it('sums a tensor used twice, passes dy through, and keeps the caller’s dy and inputs', async () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const w = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25], [2, 2]));
    const dy = tf.tensor2d([1, -2, 3, 0.5], [2, 2]);
    const before = tf.memory().numTensors;
    const f = () => tf.add(tf.matMul(x, w), tf.mul(x, x)) as tf.Tensor2D;
    const a = gradients(f, [x, w], dy, 'tfjs');
    const b = gradients(f, [x, w], dy, 'freeing');
    expect(tf.memory().numTensors - before).toBe(6);
    expect(await b.value.data()).toEqual(await a.value.data());
    for (let i = 0; i < 2; i++) expect(await b.grads[i]!.data()).toEqual(await a.grads[i]!.data());
    expect(x.isDisposed || dy.isDisposed || w.isDisposed).toBe(false);
    tf.dispose([a.value, b.value, ...a.grads, ...b.grads] as tf.Tensor[]);
    tf.dispose([x, dy, w]);
  });

  it('gives null for an input the value does not depend on', async () => {
    const [x, z] = [tf.scalar(3), tf.scalar(4)];
    const before = tf.memory().numTensors;
    const r = gradients(() => tf.square(x), [x, z]);
    expect(r.grads[1]).toBeNull();
    expect((await r.grads[0]!.data())[0]).toBe(6);
    tf.dispose([r.value, r.grads[0]!]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, z]);
  });
});

describe('peak memory of a training step', () => {
  // Activations well above the parameters: four layers, 256 rows, a small vocabulary.
  const dims: GPT2Dims = {
    vocab_size: 64,
    n_positions: 64,
    n_embd: 32,
    n_layer: 4,
    n_head: 2,
    layer_norm_epsilon: 1e-5,
  };
  it('is below 0.9× tfjs’s backward’s with the freeing backward, which gives the GPU the same dispatches', async () => {
    const stock = await measureTrainingStep(dims, 4, 64, { backward: 'tfjs' });
    const freeing = await measureTrainingStep(dims, 4, 64, { backward: 'freeing' });
    expect(freeing.buffers / stock.buffers, `${freeing.buffers} B vs ${stock.buffers} B`).toBeLessThan(0.9);
    // the same GPU work in the same order: freeing changes what is released, not what runs
    expect(stock.dispatches.length).toBeGreaterThan(50);
    expect(freeing.dispatches).toEqual(stock.dispatches);
  });
});
