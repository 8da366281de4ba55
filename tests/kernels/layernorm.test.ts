import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { layerNorm, LAYERNORM_VARIANTS, type LayerNormVariantName } from '../../src/core/kernels/layernorm/index.ts';
import { layerNormForward, layerNormBackward } from '../../src/core/kernels/layernorm/reference.ts';

const EPS = 1e-5; // GPT-2's layer_norm_epsilon
const VARIANTS = Object.keys(LAYERNORM_VARIANTS) as LayerNormVariantName[];

// (rows, cols): odd sizes; 130 and 300 rows span two and three row chunks of the weight/bias reduction
// and leave the last workgroup of the thread-per-row variant part empty. (300, 1) only for threadPerRow:
// on SwiftShader a workgroup per row costs seconds there and adds no new case.
const SHAPES: [number, number][] = [
  [1, 1],
  [7, 33],
  [33, 7],
  [65, 130],
  [130, 65],
  [300, 1],
  [5, 770],
];

async function checkAgainstReference(variant: LayerNormVariantName, rows: number, cols: number) {
  const r = rng();
  // An offset on x checks that the variance is not taken as E[x²] − mean².
  const xv = r.normals(rows * cols, 2).map((v) => v + 3);
  const wv = r.normals(cols, 0.5).map((v) => v + 1);
  const bv = r.normals(cols, 0.5);
  const dyv = r.normals(rows * cols);
  const x = tf.tensor2d(xv, [rows, cols]);
  const w = tf.tensor1d(wv);
  const b = tf.tensor1d(bv);
  const dy = tf.tensor2d(dyv, [rows, cols]);
  const y = layerNorm(x, w, b, EPS, variant);
  const [dx, dw, db] = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
    layerNorm(xs as tf.Tensor2D, ws as tf.Tensor1D, bs as tf.Tensor1D, EPS, variant),
  )([x, w, b], dy);
  const ref = layerNormForward(xv, wv, bv, rows, cols, EPS);
  const grad = layerNormBackward(xv, wv, dyv, rows, cols, EPS);
  expect(y.shape).toEqual([rows, cols]);
  expectClose(await y.data(), ref.y, 1e-4, `seed ${r.seed} y`);
  expectClose(await dx.data(), grad.dx, 1e-4, `seed ${r.seed} dx`);
  expectClose(await dw.data(), grad.dweight, 1e-4, `seed ${r.seed} dweight`);
  expectClose(await db.data(), grad.dbias, 1e-4, `seed ${r.seed} dbias`);
  tf.dispose([x, w, b, dy, y, dx, dw, db]);
}

describe('layerNorm', () => {
  useGpu();
  for (const variant of VARIANTS) {
    for (const [rows, cols] of SHAPES) {
      if (variant === 'workgroupPerRow' && rows === 300) continue;
      it(`${variant}: forward and backward match the float64 reference, (${rows}, ${cols})`, () =>
        checkAgainstReference(variant, rows, cols));
    }
  }

  it('leaves no tensors behind outside a gradient', () => {
    const x = tf.randomNormal([4, 9]) as tf.Tensor2D;
    const w = tf.ones([9]) as tf.Tensor1D;
    const b = tf.zeros([9]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    const y = layerNorm(x, w, b, EPS);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, w, b, y]);
  });
});
