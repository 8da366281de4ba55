import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf, skipUnsupported, ODD_SHAPES } from '../helpers.ts';
import {
  layerNorm,
  addLayerNorm,
  LAYERNORM_VARIANTS,
  type LayerNormVariantName,
} from '../../src/core/kernels/layernorm/index.ts';
import {
  layerNormForward,
  layerNormBackward,
  addLayerNormReference,
} from '../../src/core/kernels/layernorm/reference.ts';

const EPS = 1e-5; // GPT-2's layer_norm_epsilon
const VARIANTS = Object.keys(LAYERNORM_VARIANTS) as LayerNormVariantName[];

// (rows, cols): odd sizes; 130 and 300 rows span two and three row chunks of the weight/bias reduction
// and leave the last workgroup of the thread-per-row variant part empty. (300, 1) only for threadPerRow:
// on SwiftShader a workgroup per row costs seconds there and adds no new case.
const SHAPES: [number, number][] = [...ODD_SHAPES, [300, 1], [5, 770]];

/** Inputs with an offset on x, which checks that the variance is not taken as E[x²] − mean². */
function inputs(rows: number, cols: number) {
  const r = rng();
  return {
    r,
    xv: r.normals(rows * cols, 2).map((v) => v + 3),
    wv: r.normals(cols, 0.5).map((v) => v + 1),
    bv: r.normals(cols, 0.5),
    dyv: r.normals(rows * cols),
  };
}

async function checkAgainstReference(variant: LayerNormVariantName, rows: number, cols: number) {
  const { r, xv, wv, bv, dyv } = inputs(rows, cols);
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

async function checkAddAgainstReference(variant: LayerNormVariantName, rows: number, cols: number) {
  const { r, xv, wv, bv, dyv } = inputs(rows, cols);
  const rv = r.normals(rows * cols);
  const dsv = r.normals(rows * cols);
  const [x, res, ds, dy] = [xv, rv, dsv, dyv].map((v) => tf.tensor2d(v, [rows, cols]));
  const w = tf.tensor1d(wv);
  const b = tf.tensor1d(bv);
  const [s, y] = addLayerNorm(x as tf.Tensor2D, res as tf.Tensor2D, w, b, EPS, variant);
  // Both outputs carry a gradient, as in a transformer block: ds from the residual stream, dy from the branch.
  const f = (xs: tf.Tensor, rs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => {
    const [so, yo] = addLayerNorm(
      xs as tf.Tensor2D,
      rs as tf.Tensor2D,
      ws as tf.Tensor1D,
      bs as tf.Tensor1D,
      EPS,
      variant,
    );
    return tf.add(tf.sum(tf.mul(so, ds)), tf.sum(tf.mul(yo, dy)));
  };
  const [dx, dr, dw, db] = tf.grads(f)([x, res, w, b]);
  const ref = addLayerNormReference(xv, rv, wv, bv, dsv, dyv, rows, cols, EPS);
  const what = `seed ${r.seed}`;
  expectClose(await s.data(), ref.s, 1e-4, `${what} s`);
  expectClose(await y.data(), ref.y, 1e-4, `${what} y`);
  expectClose(await dx.data(), ref.dx, 1e-4, `${what} dx`);
  expectClose(await dr.data(), ref.dx, 1e-4, `${what} dresidual`);
  expectClose(await dw.data(), ref.dweight, 1e-4, `${what} dweight`);
  expectClose(await db.data(), ref.dbias, 1e-4, `${what} dbias`);
  tf.dispose([x, res, ds, dy, w, b, s, y, dx, dr, dw, db]);
}

describe('layerNorm', () => {
  useGpu();
  for (const variant of VARIANTS) {
    for (const [rows, cols] of SHAPES) {
      if (variant !== 'threadPerRow' && rows === 300) continue;
      it(`${variant}: forward and backward match the float64 reference, (${rows}, ${cols})`, (test) => {
        skipUnsupported(test, LAYERNORM_VARIANTS[variant]);
        return checkAgainstReference(variant, rows, cols);
      });
    }
    for (const [rows, cols] of [
      [1, 1],
      [7, 33],
      [130, 65],
      [5, 770],
    ] as [number, number][]) {
      it(`${variant}: residual add fused with LayerNorm, forward and backward match the reference, (${rows}, ${cols})`, (test) => {
        skipUnsupported(test, LAYERNORM_VARIANTS[variant]);
        return checkAddAgainstReference(variant, rows, cols);
      });
    }
  }

  it('leaves no tensors behind outside a gradient', () => {
    const x = tf.randomNormal([4, 9]) as tf.Tensor2D;
    const w = tf.ones([9]) as tf.Tensor1D;
    const b = tf.zeros([9]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    const y = layerNorm(x, w, b, EPS);
    expect(tf.memory().numTensors).toBe(before + 1);
    const [s, z] = addLayerNorm(x, x, w, b, EPS);
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([x, w, b, y, s, z]);
  });
});
