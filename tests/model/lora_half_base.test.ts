// LoRA with the frozen base held in f16 (attachLora's halfBase): on a base whose values are f16 already, the loss, the
// logits and the adapters' gradients are the float32 base's bit for bit (the kernels read the same values, only in
// half the bytes); the float32 variables are released; the base read back (toArrays, mergedArrays) is the exact
// float32 one even when f16 would round it, and is the caller's own arrays where it passes them (hostBase); stock
// tfjs ops refuse an f16 base.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, tf } from '../helpers.ts';
import { randomAdapter, randomModel, LLAMA_GQA_DIMS, QWEN2_TIED_DIMS, SMALL_DIMS } from './models.ts';
import type { ModelDims } from '../../src/core/model/families/index.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { DEFAULT_LORA_CONFIG, type LoraConfig } from '../../src/core/model/lora/config.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';

const B = 2;
const T = 7;
const lora = (o: Partial<LoraConfig>): LoraConfig => ({ ...DEFAULT_LORA_CONFIG, ...o });

const CASES: [string, ModelDims, LoraConfig][] = [
  ['GPT-2 (Conv1D), c_attn c_fc, r 3', SMALL_DIMS, lora({ r: 3, lora_alpha: 6, target_modules: ['c_attn', 'c_fc'] })],
  ['Llama GQA, q_proj v_proj, r 4', LLAMA_GQA_DIMS, lora({ r: 4, lora_alpha: 8, target_modules: null })],
  [
    'Qwen2 (q, k, v biases), all attention projections, lora_dropout',
    QWEN2_TIED_DIMS,
    lora({ r: 2, lora_alpha: 4, lora_dropout: 0.2, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }),
  ],
];

function batch(d: ModelDims, seed: number) {
  const r = rng(seed);
  const V = 'vocab_size' in d ? d.vocab_size : 0;
  return { tokens: r.ints(B * T, V), targets: r.ints(B * T, V) };
}

describe('LoRA with the base held in f16', () => {
  useGpu();

  for (const [label, dims, config] of CASES) {
    it(`an f16-valued base gives the float32 base's loss, logits and gradients bit for bit (${label})`, async () => {
      const seed = rng().seed;
      const source = randomModel(dims, seed);
      const rounded: NamedTensors = new Map(
        [...(await source.toArrays())].map(([n, a]) => [n, { shape: a.shape, data: roundArrayToHalf(a.data) }]),
      );
      source.dispose();
      const values = randomAdapter(CausalLM.fromArrays(dims, rounded), config, seed + 2);
      const f32 = CausalLM.fromArrays(dims, rounded);
      f32.attachLora(config, { values });
      const half = CausalLM.fromArrays(dims, rounded);
      const bytesBefore = tf.memory().numBytes;
      half.attachLora(config, { values, halfBase: true });
      const held = half.halfBaseWeights;
      expect(held).toBeGreaterThan(0);
      const exported = await half.toArrays();
      // Each frozen linear weight now takes 2 bytes a value (rounded up to a word) instead of 4.
      let saved = 0;
      for (const [name, a] of rounded) {
        if (!half.params.has(name) && !name.includes('lora_'))
          saved += 4 * a.data.length - 4 * Math.ceil(a.data.length / 2);
      }
      const loraBytes = [...half.lora!.params.values()].reduce((n, v) => n + 4 * v.size, 0);
      expect(tf.memory().numBytes).toBe(bytesBefore + loraBytes - saved);
      // The base read back is the base given, every parameter in the family's order.
      expect([...exported.keys()]).toEqual([...(await f32.toArrays()).keys()]);
      for (const [name, a] of rounded) expect(exported.get(name)!.data, name).toEqual(a.data);
      const { tokens, targets } = batch(dims, seed + 1);
      for (const dropoutSeed of [undefined, 77]) {
        const a = f32.lossAndGrads(tokens, targets, B, T, { dropoutSeed });
        const b = half.lossAndGrads(tokens, targets, B, T, { dropoutSeed, checkpoint: dropoutSeed !== undefined });
        const c = f32.lossAndGrads(tokens, targets, B, T, { dropoutSeed, checkpoint: dropoutSeed !== undefined });
        expect(await b.loss.data(), `seed ${seed}`).toEqual(await c.loss.data());
        expect(Math.abs((await a.loss.data())[0] - (await b.loss.data())[0])).toBeLessThan(1e-5);
        for (const [name, g] of c.grads) expect(await b.grads.get(name)!.data(), name).toEqual(await g.data());
        tf.dispose([a.loss, b.loss, c.loss, ...a.grads.values(), ...b.grads.values(), ...c.grads.values()]);
      }
      const la = f32.forward(tokens, B, T);
      const lb = half.forward(tokens, B, T);
      expect(await lb.data()).toEqual(await la.data());
      tf.dispose([la, lb]);
      f32.dispose();
      half.dispose();
    });
  }

  it('reads back the exact float32 base, not its f16 rounding, and merges onto it; stock ops refuse it', async () => {
    const seed = rng().seed;
    const dims = LLAMA_GQA_DIMS;
    const config = lora({ r: 4, lora_alpha: 8, target_modules: null });
    const model = randomModel(dims, seed);
    const exact = await model.toArrays();
    const values = randomAdapter(model, config, seed + 2);
    model.attachLora(config, { values, halfBase: true });
    const reference = randomModel(dims, seed);
    reference.attachLora(config, { values });
    const back = await model.toArrays();
    const name = 'layers.0.mlp.up_proj.weight';
    expect(model.params.has(name)).toBe(false);
    expect(roundArrayToHalf(exact.get(name)!.data)).not.toEqual(exact.get(name)!.data);
    for (const [n, a] of exact) expect(back.get(n)!.data, n).toEqual(a.data);
    const merged = await model.mergedArrays();
    const mergedF32 = await reference.mergedArrays();
    for (const [n, a] of mergedF32) expect(merged.get(n)!.data, n).toEqual(a.data);
    const { tokens } = batch(dims, seed + 1);
    expect(() => model.forward(tokens, B, T, { ops: stockOps })).toThrow(/held in f16/);
    model.dispose();
    reference.dispose();
  });

  it('keeps the host arrays the model was made from as the exact base (no copy read back); refuses a wrong shape', async () => {
    const seed = rng().seed;
    const dims = LLAMA_GQA_DIMS;
    const config = lora({ r: 4, lora_alpha: 8, target_modules: null });
    const source = randomModel(dims, seed);
    const exact = await source.toArrays();
    const values = randomAdapter(source, config, seed + 2);
    source.dispose();
    // what each way leaves on the GPU once the exact values are on the host: the f32 variables are gone in both
    const held = async (hostBase?: NamedTensors) => {
      const before = tf.memory().numTensors;
      const m = CausalLM.fromArrays(dims, exact);
      m.attachLora(config, { values, halfBase: true, hostBase });
      return { m, arrays: await m.toArrays(), tensors: tf.memory().numTensors - before };
    };
    const readBack = await held();
    const kept = await held(exact);
    const name = 'layers.1.self_attn.o_proj.weight';
    expect(kept.m.halfBaseWeights).toBeGreaterThan(0);
    expect(kept.tensors).toBe(readBack.tensors);
    // the very arrays, not equal copies
    expect(kept.arrays.get(name)!.data).toBe(exact.get(name)!.data);
    expect(readBack.arrays.get(name)!.data).not.toBe(exact.get(name)!.data);
    expect(readBack.arrays.get(name)!.data).toEqual(exact.get(name)!.data);
    const { tokens, targets } = batch(dims, seed + 1);
    const [a, b] = [readBack.m, kept.m].map((m) => m.lossAndGrads(tokens, targets, B, T));
    expect(await a.loss.data()).toEqual(await b.loss.data());
    tf.dispose([a.loss, b.loss, ...a.grads.values(), ...b.grads.values()]);

    const wrong: NamedTensors = new Map(exact);
    wrong.set(name, { shape: [1, exact.get(name)!.data.length], data: exact.get(name)!.data });
    const refused = CausalLM.fromArrays(dims, exact);
    expect(() => refused.attachLora(config, { values, halfBase: true, hostBase: wrong })).toThrow(/hostBase: 'layers/);
    expect(refused.halfBaseWeights).toBe(0);
    for (const m of [readBack.m, kept.m, refused]) m.dispose();
  });
});
