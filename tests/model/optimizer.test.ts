import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { AdamW, type AdamWOptions } from '../../src/core/train/optimizer.ts';

// Odd sizes, and names on both sides of Hugging Face's weight-decay grouping (biases and LayerNorm weights do not
// decay), interleaved so the packing has to reorder them.
const SHAPES: [string, number[]][] = [
  ['h.0.ln_1.weight', [7]],
  ['h.0.attn.c_attn.weight', [7, 33]],
  ['h.0.attn.c_attn.bias', [33]],
  ['wte.weight', [65, 3]],
  ['ln_f.bias', [1]],
  ['h.0.mlp.c_fc.weight', [130]],
];

function makeParams(seed: number): Map<string, tf.Variable> {
  const r = rng(seed);
  return new Map(
    SHAPES.map(([n, shape]) => [n, tf.variable(tf.tensor(r.normals(shape.reduce((a, b) => a * b, 1)), shape))]),
  );
}

function makeGrads(r: ReturnType<typeof rng>): Map<string, tf.Tensor> {
  return new Map(
    SHAPES.map(([n, shape]) => [
      n,
      tf.tensor(
        r.normals(
          shape.reduce((a, b) => a * b, 1),
          0.3,
        ),
        shape,
      ),
    ]),
  );
}

async function values(params: Map<string, tf.Variable>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, p] of params) out.set(n, (await p.data()) as Float32Array);
  return out;
}

/** The same steps through the packed (multi-tensor) optimizer and the per-tensor one. */
async function runBoth(opts: Partial<AdamWOptions>, steps: number) {
  const seed = rng().seed;
  const [a, b] = [makeParams(seed), makeParams(seed)];
  const packed = new AdamW(a, { ...opts, multiTensor: true });
  const perTensor = new AdamW(b, { ...opts, multiTensor: false });
  const r = rng(seed + 1);
  const norms: [number, number][] = [];
  for (let s = 0; s < steps; s++) {
    const grads = makeGrads(r);
    const na = packed.apply(grads, 1e-2);
    const nb = perTensor.apply(grads, 1e-2);
    norms.push([(await na.data())[0], (await nb.data())[0]]);
    tf.dispose([na, nb, ...grads.values()]);
  }
  return { seed, a, b, packed, perTensor, norms };
}

describe('AdamW over packed parameters (one dispatch per step)', () => {
  useGpu();

  for (const maxGradNorm of [0, 0.05]) {
    it(`gives the per-tensor optimizer's parameters, moments and norms, weight decay, maxGradNorm ${maxGradNorm}`, async () => {
      const { seed, a, b, packed, perTensor, norms } = await runBoth({ weightDecay: 0.1, maxGradNorm }, 3);
      for (const [x, y] of norms) expect(relError([x], [y]), `seed ${seed} norm`).toBeLessThan(1e-5);
      const [va, vb] = [await values(a), await values(b)];
      for (const [n, x] of va) expect(relError(x, vb.get(n)!), `seed ${seed} ${n}`).toBeLessThan(1e-5);
      const [sa, sb] = [await packed.getState(), await perTensor.getState()];
      expect(sa.step).toBe(3);
      for (const [n, x] of sa.m) expect(relError(x, sb.m.get(n)!), `seed ${seed} m of ${n}`).toBeLessThan(1e-5);
      for (const [n, x] of sa.v) expect(relError(x, sb.v.get(n)!), `seed ${seed} v of ${n}`).toBeLessThan(1e-5);
      [packed, perTensor].forEach((o) => o.dispose());
      tf.dispose([...a.values(), ...b.values()]);
    });
  }

  /** Two more steps on both sides, then the parameters must still agree. */
  async function continueAndCompare(
    seed: number,
    a: Map<string, tf.Variable>,
    b: Map<string, tf.Variable>,
    x: AdamW,
    y: AdamW,
  ) {
    const r = rng(seed + 3);
    for (let s = 0; s < 2; s++) {
      const grads = makeGrads(r);
      tf.dispose([x.apply(grads, 1e-2), y.apply(grads, 1e-2), ...grads.values()]);
    }
    const [va, vb] = [await values(a), await values(b)];
    for (const [n, v] of va) expect(relError(v, vb.get(n)!), `seed ${seed} ${n}`).toBeLessThan(1e-5);
  }

  it('picks up a parameter assigned behind its back (a checkpoint load)', async () => {
    const { seed, a, b, packed, perTensor } = await runBoth({ weightDecay: 0.01 }, 2);
    const fresh = tf.tensor1d(rng(seed + 2).normals(33));
    a.get('h.0.attn.c_attn.bias')!.assign(fresh);
    b.get('h.0.attn.c_attn.bias')!.assign(fresh);
    fresh.dispose();
    await continueAndCompare(seed, a, b, packed, perTensor);
    [packed, perTensor].forEach((o) => o.dispose());
    tf.dispose([...a.values(), ...b.values()]);
  });

  it('continues exactly from a saved state', async () => {
    const { seed, a, b, packed, perTensor } = await runBoth({ weightDecay: 0.01 }, 2);
    const state = await packed.getState();
    packed.dispose();
    const restored = new AdamW(a, { weightDecay: 0.01 });
    restored.setState(state);
    await continueAndCompare(seed, a, b, restored, perTensor);
    expect((await restored.getState()).step).toBe(4);
    [restored, perTensor].forEach((o) => o.dispose());
    tf.dispose([...a.values(), ...b.values()]);
  });

  it('refuses a missing gradient and leaves no tensors behind', () => {
    const params = makeParams(1);
    const opt = new AdamW(params);
    const grads = makeGrads(rng(2));
    const before = tf.memory().numTensors;
    const norm = opt.apply(grads, 1e-3);
    norm.dispose();
    expect(tf.memory().numTensors).toBe(before);
    grads.get('wte.weight')!.dispose();
    grads.delete('wte.weight');
    expect(() => opt.apply(grads, 1e-3)).toThrow(/no gradient for parameter 'wte.weight'/);
    opt.dispose();
    tf.dispose([...params.values(), ...grads.values()]);
  });
});
