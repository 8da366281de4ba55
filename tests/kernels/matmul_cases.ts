// The shapes, variants and check that the matmul kernel tests share (f32 and f16 operands).
import { it, expect } from 'vitest';
import { rng, expectClose, tf } from '../helpers.ts';
import { matmul, matmulVariantFor, type MatmulVariant } from '../../src/core/kernels/matmul/index.ts';
import * as ref from '../../src/core/kernels/matmul/reference.ts';
import { geluBackward, geluExactBackward } from '../../src/core/kernels/gelu/reference.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';

type Epilogue = 'none' | 'bias' | 'gelu' | 'gelu_exact';

// (M, K, N) from the odd sizes, with 1 in every position and each size off the 64-wide tile.
export const MATMUL_SHAPES: [number, number, number][] = [
  [1, 7, 33],
  [33, 1, 7],
  [7, 33, 1],
  [65, 130, 7],
  [130, 65, 33],
  [33, 130, 65],
  [130, 7, 130],
  [1, 1, 1],
];

/** Every transpose combination with every epilogue. */
const MATMUL_VARIANTS: { transposeA: boolean; transposeB: boolean; epilogue: Epilogue }[] = [];
for (const epilogue of ['none', 'bias', 'gelu', 'gelu_exact'] as const) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) MATMUL_VARIANTS.push({ transposeA, transposeB, epilogue });
  }
}

/**
 * A test per (transposes, epilogue) and shape: C and the gradients of A, B and the bias against the float64
 * reference. Two shapes per variant, spread so that each shape meets several epilogues. The lone shape (1×1×1)
 * skips GELU: a lone element is judged relative to itself, and GELU's gradient in f32 (1 + tanh(u), in
 * HearthGeluBackward) keeps only its absolute accuracy in the far negative tail.
 *
 * With `half` (f16 operands) A, B and dC are f16 values already (the bias stays f32). Casting those is exact and a
 * product of two f16 values is exact in f32, so the kernel's only error is f32 summation, as for the f32 kernel: the
 * same 1e-4. The one f16 rounding left is the kernel's own cast of the GELU gradient dZ (computed in f32); the
 * reference rounds its float64 dZ to f16 too, and the two can land on neighbouring f16 values where dZ sits near a
 * rounding boundary. One such dZ element moves a sum of N terms by one f16 ulp (2⁻¹⁰) of one term, ≲ 2⁻¹⁰/√N of the
 * sum: those gradients are held to 2e-3.
 */
export function productCases(
  variant: MatmulVariant | undefined,
  shapeList: [number, number, number][],
  lone: [number, number, number] | null,
  half = false,
) {
  const round = half ? roundArrayToHalf : <T>(a: T) => a;
  MATMUL_VARIANTS.forEach(({ transposeA, transposeB, epilogue }, v) => {
    const useLone = lone && (epilogue === 'none' || epilogue === 'bias') && v % 2 === 0;
    const k = shapeList.length;
    const shapes = [shapeList[v % k], useLone ? lone : shapeList[(v + 3) % k]];
    for (const [M, K, N] of shapes) {
      const kind = half ? 'f16' : (variant ?? matmulVariantFor(M));
      const name = `${kind}: ${transposeA ? 'Aᵀ' : 'A'}·${transposeB ? 'Bᵀ' : 'B'} ${epilogue}, M=${M} K=${K} N=${N}`;
      it(name, async () => {
        const r = rng();
        const withBias = epilogue !== 'none';
        const gelu = epilogue === 'gelu' || epilogue === 'gelu_exact';
        const exact = epilogue === 'gelu_exact';
        // A scaled by 1/√K keeps the pre-activation near unit scale, where GELU bends.
        const av = round(r.normals(M * K, 1 / Math.sqrt(K)));
        const bv = round(r.normals(K * N));
        const biasv = r.normals(N, 0.5);
        const dcv = round(r.normals(M * N));
        const a = tf.tensor2d(av, transposeA ? [K, M] : [M, K]);
        const b = tf.tensor2d(bv, transposeB ? [N, K] : [K, N]);
        const bias = tf.tensor1d(biasv);
        const dc = tf.tensor2d(dcv, [M, N]);
        const opts = {
          transposeA,
          transposeB,
          variant,
          half,
          ...(withBias ? { bias } : {}),
          ...(gelu ? { activation: epilogue } : {}),
        };
        const refOpts = { transposeA, transposeB, ...(withBias ? { bias: biasv } : {}), gelu, exact };

        const c = matmul(a, b, opts);
        expect(c.shape).toEqual([M, N]);
        expectClose(await c.data(), ref.matmulForward(av, bv, M, K, N, refOpts), 1e-4, `seed ${r.seed} C`);

        const f = (x: tf.Tensor, w: tf.Tensor, bb: tf.Tensor) =>
          matmul(x as tf.Tensor2D, w as tf.Tensor2D, { ...opts, ...(withBias ? { bias: bb as tf.Tensor1D } : {}) });
        const grads = withBias
          ? tf.grads(f)([a, b, bias], dc)
          : tf.grads((x: tf.Tensor, w: tf.Tensor) => f(x, w, bias))([a, b], dc);
        const geluGrad = exact ? geluExactBackward : geluBackward;
        const dz = gelu ? geluGrad(ref.matmulPreActivation(av, bv, M, K, N, refOpts), dcv) : Float64Array.from(dcv);
        const want = ref.matmulBackward(av, bv, half ? roundArrayToHalf(dz) : dz, M, K, N, { transposeA, transposeB });
        const tol = half && gelu ? 2e-3 : 1e-4;
        expect(grads[0].shape).toEqual(a.shape);
        expect(grads[1].shape).toEqual(b.shape);
        expectClose(await grads[0].data(), want.da, tol, `seed ${r.seed} dA`);
        expectClose(await grads[1].data(), want.db, tol, `seed ${r.seed} dB`);
        if (withBias) expectClose(await grads[2].data(), ref.columnSum(dz, M, N), 1e-4, `seed ${r.seed} dbias`);
        tf.dispose([a, b, bias, dc, c, ...grads]);
      });
    }
  });
}
