// The mixed-precision matmul (f16 operands, f32 accumulation) against the float64 reference, on inputs that are
// f16 values already. Casting those is exact and a product of two f16 values is exact in f32, so the kernel's only
// error is f32 summation, as for the f32 kernel: the same 1e-4. The one f16 rounding left is the kernel's own cast
// of the GELU gradient dZ (computed in f32); the reference rounds its float64 dZ to f16 too, and the two can land
// on neighbouring f16 values where dZ sits near a rounding boundary. One such dZ element moves a sum of N terms by
// one f16 ulp (2⁻¹⁰) of one term, ≲ 2⁻¹⁰/√N of the sum: those gradients are held to 2e-3.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { matmul } from '../../src/core/kernels/matmul/index.ts';
import { castToHalfUntracked } from '../../src/core/kernels/half/index.ts';
import * as ref from '../../src/core/kernels/matmul/reference.ts';
import { geluBackward } from '../../src/core/kernels/gelu/reference.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';
import { MATMUL_SHAPES as SHAPES, MATMUL_VARIANTS as VARIANTS } from './matmul_cases.ts';

describe('matmul with f16 operands: every transpose combination and epilogue, forward and gradients', () => {
  useGpu();
  VARIANTS.forEach(({ transposeA, transposeB, epilogue }, v) => {
    // As in matmul.test.ts: 1×1×1 only without GELU, whose f32 gradient keeps only absolute accuracy far out.
    const lone = epilogue !== 'gelu' && v % 2 === 0;
    const shapes = [SHAPES[v % 7], lone ? SHAPES[7] : SHAPES[(v + 3) % 7]];
    for (const [M, K, N] of shapes) {
      const name = `${transposeA ? 'Aᵀ' : 'A'}·${transposeB ? 'Bᵀ' : 'B'} ${epilogue}, M=${M} K=${K} N=${N}`;
      it(name, async () => {
        const r = rng();
        const withBias = epilogue !== 'none';
        const gelu = epilogue === 'gelu';
        const av = roundArrayToHalf(r.normals(M * K, 1 / Math.sqrt(K)));
        const bv = roundArrayToHalf(r.normals(K * N));
        const biasv = r.normals(N, 0.5); // the bias stays f32
        const dcv = roundArrayToHalf(r.normals(M * N));
        const a = tf.tensor2d(av, transposeA ? [K, M] : [M, K]);
        const b = tf.tensor2d(bv, transposeB ? [N, K] : [K, N]);
        const bias = tf.tensor1d(biasv);
        const dc = tf.tensor2d(dcv, [M, N]);
        const opts = {
          half: true,
          transposeA,
          transposeB,
          ...(withBias ? { bias } : {}),
          ...(gelu ? { activation: 'gelu' as const } : {}),
        };
        const refOpts = { transposeA, transposeB, ...(withBias ? { bias: biasv } : {}), gelu };

        const c = matmul(a, b, opts);
        expect(c.shape).toEqual([M, N]);
        expectClose(await c.data(), ref.matmulForward(av, bv, M, K, N, refOpts), 1e-4, `seed ${r.seed} C`);

        const f = (x: tf.Tensor, w: tf.Tensor, bb: tf.Tensor) =>
          matmul(x as tf.Tensor2D, w as tf.Tensor2D, { ...opts, ...(withBias ? { bias: bb as tf.Tensor1D } : {}) });
        const grads = withBias
          ? tf.grads(f)([a, b, bias], dc)
          : tf.grads((x: tf.Tensor, w: tf.Tensor) => f(x, w, bias))([a, b], dc);
        const dz = gelu ? geluBackward(ref.matmulPreActivation(av, bv, M, K, N, refOpts), dcv) : Float64Array.from(dcv);
        const want = ref.matmulBackward(av, bv, roundArrayToHalf(dz), M, K, N, { transposeA, transposeB });
        const tol = gelu ? 2e-3 : 1e-4;
        expect(grads[0].shape).toEqual(a.shape);
        expect(grads[1].shape).toEqual(b.shape);
        expectClose(await grads[0].data(), want.da, tol, `seed ${r.seed} dA`);
        expectClose(await grads[1].data(), want.db, tol, `seed ${r.seed} dB`);
        if (withBias) expectClose(await grads[2].data(), ref.columnSum(dz, M, N), 1e-4, `seed ${r.seed} dbias`);
        tf.dispose([a, b, bias, dc, c, ...grads]);
      });
    }
  });

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
