// The fused LoRA linear op (kernels/lora) and the frozen f16 weight against the float64 reference (lora/reference.ts):
// forward and the gradients of x, A, B and the bias, at sizes off the 64-wide tile, ranks 3 and 8, with and without
// bias, GELU (gelu_new and exact), f16 base weight and adapter dropout.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { linear, type HalfWeight } from '../../src/core/kernels/lora/index.ts';
import { matmul } from '../../src/core/kernels/matmul/index.ts';
import { castToHalfUntracked } from '../../src/core/kernels/half/index.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';
import * as ref from '../../src/core/kernels/lora/reference.ts';

interface Case {
  M: number;
  I: number;
  O: number;
  r: number;
  transposeB: boolean;
  bias: boolean;
  gelu?: 'gelu' | 'gelu_exact';
  half: boolean;
  dropout?: number;
  /** no adapter: the f16 weight alone */
  plain?: boolean;
}

const CASES: Case[] = [
  { M: 65, I: 33, O: 7, r: 3, transposeB: true, bias: false, half: false },
  { M: 7, I: 130, O: 65, r: 8, transposeB: false, bias: true, half: false },
  { M: 130, I: 65, O: 33, r: 8, transposeB: true, bias: true, gelu: 'gelu', half: false },
  { M: 33, I: 7, O: 130, r: 3, transposeB: false, bias: true, gelu: 'gelu_exact', half: false, dropout: 0.25 },
  { M: 65, I: 130, O: 7, r: 8, transposeB: true, bias: true, half: true },
  { M: 130, I: 33, O: 65, r: 3, transposeB: true, bias: false, gelu: 'gelu_exact', half: true, dropout: 0.1 },
  { M: 33, I: 65, O: 130, r: 8, transposeB: false, bias: true, gelu: 'gelu', half: true },
  { M: 65, I: 33, O: 130, r: 8, transposeB: true, bias: true, gelu: 'gelu', half: true, plain: true },
  { M: 130, I: 65, O: 7, r: 8, transposeB: false, bias: false, half: true, plain: true },
];

const describeCase = (c: Case) =>
  `${c.plain ? 'f16 weight alone' : `r=${c.r}`}, M=${c.M} in=${c.I} out=${c.O}, ${c.transposeB ? 'W [out, in]' : 'W [in, out]'}` +
  `${c.bias ? ', bias' : ''}${c.gelu ? `, ${c.gelu}` : ''}${c.half ? ', f16 base' : ''}${c.dropout ? `, dropout ${c.dropout}` : ''}`;

describe('LoRA linear: fused forward and gradients against float64', () => {
  useGpu();

  for (const c of CASES) {
    it(describeCase(c), async () => {
      const g = rng();
      const { M, I, O, r } = c;
      const xv = g.normals(M * I);
      const wRaw = g.normals(I * O, 1 / Math.sqrt(I));
      const wv = c.half ? roundArrayToHalf(wRaw) : wRaw;
      const av = g.normals(r * I, 1 / Math.sqrt(I));
      const bv = g.normals(O * r, 0.5);
      const biasv = g.normals(O, 0.5);
      const dyv = g.normals(M * O);
      const scale = c.plain ? 0 : 16 / r;
      const dropout = c.dropout ? { p: c.dropout, seed: g.ints(1, 1 << 30)[0] } : undefined;
      const wShape: [number, number] = c.transposeB ? [O, I] : [I, O];
      const x = tf.variable(tf.tensor2d(xv, [M, I]));
      const A = tf.variable(tf.tensor2d(av, [r, I]));
      const B = tf.variable(tf.tensor2d(bv, [O, r]));
      const bias = tf.variable(tf.tensor1d(biasv));
      const w = tf.tensor2d(wv, wShape);
      const weight: tf.Tensor2D | HalfWeight = c.half ? { packed: castToHalfUntracked(w), shape: wShape } : w;
      const dy = tf.tensor2d(dyv, [M, O]);
      const lora = c.plain ? undefined : { A, B, scale, dropout };
      const o = { transposeB: c.transposeB, bias: c.bias ? bias : undefined, activation: c.gelu, lora };
      const before = tf.memory().numTensors;
      const y = linear(x, weight, o);
      const vars = c.plain ? [x, bias] : [x, A, B, bias];
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(linear(x, weight, o), dy)) as tf.Scalar, vars);
      const spec: ref.LoraLinearRef = {
        M,
        I,
        O,
        r,
        transposeB: c.transposeB,
        bias: c.bias ? biasv : undefined,
        scale,
        gelu: c.gelu,
        dropout,
      };
      const what = `seed ${g.seed}`;
      expectClose(await y.data(), ref.loraLinearForward(xv, wv, av, bv, spec), 1e-4, `${what} y`);
      const want = ref.loraLinearBackward(xv, wv, av, bv, dyv, spec);
      expectClose(await grads[x.name].data(), want.dx, 1e-4, `${what} dx`);
      if (!c.plain) {
        expectClose(await grads[A.name].data(), want.dA, 1e-4, `${what} dA`);
        expectClose(await grads[B.name].data(), want.dB, 1e-4, `${what} dB`);
      }
      if (c.bias) expectClose(await grads[bias.name].data(), want.dbias, 1e-4, `${what} dbias`);
      tf.dispose([y, value, ...Object.values(grads)]);
      // Nothing left behind by the forward, the dropout scratch or the saved tensors.
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, A, B, bias, w, dy, ...(c.half ? [(weight as HalfWeight).packed] : [])]);
    });
  }

  it('with B = 0 the output is the base layer bit for bit (bias + GELU epilogue)', async () => {
    const g = rng();
    const [M, I, O, r] = [33, 65, 130, 3];
    const x = tf.tensor2d(g.normals(M * I), [M, I]);
    const w = tf.tensor2d(g.normals(O * I, 0.1), [O, I]);
    const bias = tf.tensor1d(g.normals(O));
    const A = tf.tensor2d(g.normals(r * I), [r, I]);
    const B = tf.zeros([O, r]) as tf.Tensor2D;
    const base = matmul(x, w, { transposeB: true, bias, activation: 'gelu' });
    const fused = linear(x, w, { transposeB: true, bias, activation: 'gelu', lora: { A, B, scale: 2 } });
    expect(await fused.data()).toEqual(await base.data());
    tf.dispose([x, w, bias, A, B, base, fused]);
  });
});
