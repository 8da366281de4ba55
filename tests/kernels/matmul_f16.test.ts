// The mixed-precision matmul (f16 operands, f32 accumulation) against the float64 reference, on inputs that are
// f16 values already (matmul_cases.ts says why the f32 tolerances hold).
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { matmul } from '../../src/core/kernels/matmul/index.ts';
import { castToHalfUntracked } from '../../src/core/kernels/half/index.ts';
import * as ref from '../../src/core/kernels/matmul/reference.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';
import { MATMUL_SHAPES as SHAPES, productCases } from './matmul_cases.ts';

describe('matmul with f16 operands: every transpose combination and epilogue, forward and gradients', () => {
  useGpu();
  productCases(undefined, SHAPES.slice(0, 7), SHAPES[7], true);

  it('a weight cast once (bHalf) serves the forward and both gradients, through tf.variableGrads', async () => {
    const r = rng();
    const [M, K, N] = [33, 65, 7];
    const xv = roundArrayToHalf(r.normals(M * K, 1 / Math.sqrt(K)));
    const wv = roundArrayToHalf(r.normals(K * N));
    const biasv = r.normals(N, 0.5);
    const x = tf.variable(tf.tensor2d(xv, [M, K]));
    const w = tf.variable(tf.tensor2d(wv, [K, N]));
    const bias = tf.variable(tf.tensor1d(biasv));
    const wHalf = castToHalfUntracked(w);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(matmul(x, w, { half: true, bias, bHalf: wHalf })) as tf.Scalar,
      [x, w, bias],
    );
    const ones = new Float64Array(M * N).fill(1);
    const yRef = ref.matmulForward(xv, wv, M, K, N, { bias: biasv });
    const want = ref.matmulBackward(xv, wv, ones, M, K, N, { bias: biasv });
    expectClose([await value.array()], [yRef.reduce((s, v) => s + v, 0)], 1e-4, `seed ${r.seed} loss`);
    expectClose(await grads[x.name].data(), want.da, 1e-4, `seed ${r.seed} dX`);
    expectClose(await grads[w.name].data(), want.db, 1e-4, `seed ${r.seed} dW`);
    expectClose(await grads[bias.name].data(), want.dbias, 1e-4, `seed ${r.seed} dbias`);
    tf.dispose([value, ...Object.values(grads)]);
    // Nothing left behind by the forward, the scratch casts or the saved tensors.
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, bias, wHalf]);
  });

  it('refuses packed data of the wrong size', () => {
    const a = tf.zeros([3, 4]) as tf.Tensor2D;
    const w = tf.zeros([4, 6]) as tf.Tensor2D;
    const wrong = castToHalfUntracked(tf.zeros([4, 5]));
    expect(() => matmul(a, w, { half: true, bHalf: wrong })).toThrow(/packed f16 data for shape \[4,6\]/);
    tf.dispose([a, w, wrong]);
  });
});
