import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { matmul, columnSum } from '../../src/core/kernels/matmul/index.ts';
import * as ref from '../../src/core/kernels/matmul/reference.ts';
import { MATMUL_SHAPES as SHAPES, productCases } from './matmul_cases.ts';

// The few-rows variant at one pass (M ≤ 8), just past it and at several passes.
const ROWS_SHAPES: [number, number, number][] = [
  [1, 33, 130],
  [7, 65, 7],
  [9, 7, 33],
  [33, 130, 1],
  [8, 1, 65],
];

describe('matmul: every transpose combination and epilogue, forward and gradients', () => {
  useGpu();
  // The shape chooses the variant: tiled for these (the gradient products too), rows where M ≤ 8.
  productCases(undefined, SHAPES.slice(0, 7), SHAPES[7]);
});

describe('matmul, few-rows variant: every transpose combination and epilogue, forward and gradients', () => {
  useGpu();
  // Forced for the forward at every M; each gradient product chooses by its own shape.
  productCases('rows', ROWS_SHAPES, [1, 1, 1]);

  // A decode step's tied head: h (B, C) · wteᵀ with GPT-2's vocabulary, chosen by shape (B ≤ 8), and more sequences
  // than one pass holds, forced.
  for (const [B, C, V, variant] of [
    [2, 12, 50257, undefined],
    [11, 16, 1031, 'rows'],
  ] as const) {
    it(`tied head h·wteᵀ, B=${B} C=${C} V=${V}`, async () => {
      const r = rng();
      const hv = r.normals(B * C);
      const wv = r.normals(V * C, 0.5);
      const [h, wte] = [tf.tensor2d(hv, [B, C]), tf.tensor2d(wv, [V, C])];
      const logits = matmul(h, wte, { transposeB: true, variant });
      expectClose(
        await logits.data(),
        ref.matmulForward(hv, wv, B, C, V, { transposeB: true }),
        1e-4,
        `seed ${r.seed}`,
      );
      tf.dispose([h, wte, logits]);
    });
  }

  it('GELU without a bias, through tf.variableGrads as a model uses it', async () => {
    const r = rng();
    const [M, K, N] = [33, 65, 7];
    const xv = r.normals(M * K, 1 / Math.sqrt(K));
    const wv = r.normals(K * N);
    const x = tf.tensor2d(xv, [M, K]);
    const w = tf.variable(tf.tensor2d(wv, [K, N]));
    const { value, grads } = tf.variableGrads(() => tf.sum(matmul(x, w, { activation: 'gelu' })) as tf.Scalar, [w]);
    const ones = new Float64Array(M * N).fill(1);
    const yRef = ref.matmulForward(xv, wv, M, K, N, { gelu: true });
    expectClose([await value.array()], [yRef.reduce((s, v) => s + v, 0)], 1e-4, `seed ${r.seed} loss`);
    expectClose(
      await grads[w.name].data(),
      ref.matmulBackward(xv, wv, ones, M, K, N, { gelu: true }).db,
      1e-4,
      `seed ${r.seed} dW`,
    );
    tf.dispose([x, w, value, grads[w.name]]);
  });

  it('leaves no tensors behind: the saved pre-activation goes with the backward pass', async () => {
    const x = tf.randomNormal([7, 33]) as tf.Tensor2D;
    const w = tf.randomNormal([33, 65]) as tf.Tensor2D;
    const bias = tf.randomNormal([65]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    const y = matmul(x, w, { bias, activation: 'gelu' });
    y.dispose();
    const g = tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) =>
      matmul(p as tf.Tensor2D, q as tf.Tensor2D, { bias: s as tf.Tensor1D, activation: 'gelu' }),
    )([x, w, bias]);
    tf.dispose(g);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, bias]);
  });

  it('refuses mismatched shapes', () => {
    const a = tf.zeros([3, 4]) as tf.Tensor2D;
    const b = tf.zeros([5, 6]) as tf.Tensor2D;
    const w = tf.zeros([4, 6]) as tf.Tensor2D;
    const bias = tf.zeros([5]) as tf.Tensor1D;
    expect(() => matmul(a, b)).toThrow(/inner dimensions/);
    expect(() => matmul(a, b, { transposeA: true, transposeB: true })).toThrow(/inner dimensions/);
    expect(() => matmul(a, w, { bias })).toThrow(/bias must have shape \[6\]/);
    tf.dispose([a, b, w, bias]);
  });
});

describe('column sum (the bias gradient)', () => {
  useGpu();
  // 1000 rows take four first-pass groups and a second pass; 1 and 7 take one.
  for (const [M, N] of [
    [1, 7],
    [7, 130],
    [1000, 65],
  ]) {
    it(`matches the reference and repeats bit for bit, M=${M} N=${N}`, async () => {
      const r = rng();
      const xv = r.normals(M * N);
      const x = tf.tensor2d(xv, [M, N]);
      const s1 = columnSum(x);
      const s2 = columnSum(x);
      const [v1, v2] = [await s1.data(), await s2.data()];
      expect(s1.shape).toEqual([N]);
      expectClose(v1, ref.columnSum(xv, M, N), 1e-4, `seed ${r.seed}`);
      expect(Array.from(v2)).toEqual(Array.from(v1));
      tf.dispose([x, s1, s2]);
    });
  }
});
