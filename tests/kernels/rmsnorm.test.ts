import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf, skipUnsupported, ODD_SHAPES } from '../helpers.ts';
import {
  rmsNorm,
  addRmsNorm,
  RMSNORM_VARIANTS,
  type RmsNormVariantName,
} from '../../src/core/kernels/rmsnorm/index.ts';
import { stockRmsNorm } from '../../src/core/kernels/rmsnorm/stock.ts';
import { rmsNormForward, rmsNormBackward, addRmsNormReference } from '../../src/core/kernels/rmsnorm/reference.ts';

const EPS = 1e-6; // Llama's rms_norm_eps
// With a handful of columns x̂ is nearly ±1 and dx nearly cancels (for one column dx = w·eps·rstd³): float32 keeps
// few of its digits whatever the kernel does, so there a larger eps keeps the comparison meaningful.
const epsFor = (cols: number) => (cols < 8 ? 0.1 : EPS);
const VARIANTS = Object.keys(RMSNORM_VARIANTS) as RmsNormVariantName[];

// (rows, cols): odd sizes; 130 and 300 rows span two and three row chunks of the weight reduction. (300, 1) only
// for threadPerRow, as in the LayerNorm tests (a workgroup per row costs seconds there on SwiftShader).
const SHAPES: [number, number][] = [...ODD_SHAPES, [300, 1], [5, 770]];

function inputs(rows: number, cols: number) {
  const r = rng();
  return {
    r,
    xv: r.normals(rows * cols, 2).map((v) => v + 1),
    wv: r.normals(cols, 0.5).map((v) => v + 1),
    dyv: r.normals(rows * cols),
  };
}

async function checkAgainstReference(variant: RmsNormVariantName, rows: number, cols: number) {
  const { r, xv, wv, dyv } = inputs(rows, cols);
  const eps = epsFor(cols);
  const x = tf.tensor2d(xv, [rows, cols]);
  const w = tf.tensor1d(wv);
  const dy = tf.tensor2d(dyv, [rows, cols]);
  const y = rmsNorm(x, w, eps, variant);
  const [dx, dw] = tf.grads((xs: tf.Tensor, ws: tf.Tensor) =>
    rmsNorm(xs as tf.Tensor2D, ws as tf.Tensor1D, eps, variant),
  )([x, w], dy);
  const ref = rmsNormForward(xv, wv, rows, cols, eps);
  const grad = rmsNormBackward(xv, wv, dyv, rows, cols, eps);
  expect(y.shape).toEqual([rows, cols]);
  expectClose(await y.data(), ref.y, 1e-4, `seed ${r.seed} y`);
  expectClose(await dx.data(), grad.dx, 1e-4, `seed ${r.seed} dx`);
  expectClose(await dw.data(), grad.dweight, 1e-4, `seed ${r.seed} dweight`);
  // tfjs's autodiff of the stock composition agrees too (float32 both ways, so a looser bound).
  const [sx, sw] = tf.grads((xs: tf.Tensor, ws: tf.Tensor) => stockRmsNorm(xs as tf.Tensor2D, ws as tf.Tensor1D, eps))(
    [x, w],
    dy,
  );
  expectClose(await dx.data(), await sx.data(), 1e-3, `seed ${r.seed} dx vs tfjs autodiff`);
  expectClose(await dw.data(), await sw.data(), 1e-3, `seed ${r.seed} dweight vs tfjs autodiff`);
  tf.dispose([x, w, dy, y, dx, dw, sx, sw]);
}

async function checkAddAgainstReference(variant: RmsNormVariantName, rows: number, cols: number) {
  const { r, xv, wv, dyv } = inputs(rows, cols);
  const eps = epsFor(cols);
  const rv = r.normals(rows * cols);
  const dsv = r.normals(rows * cols);
  const [x, res, ds, dy] = [xv, rv, dsv, dyv].map((v) => tf.tensor2d(v, [rows, cols]));
  const w = tf.tensor1d(wv);
  const [s, y] = addRmsNorm(x as tf.Tensor2D, res as tf.Tensor2D, w, eps, variant);
  // Both outputs carry a gradient, as in a decoder layer: ds from the residual stream, dy from the branch.
  const f = (xs: tf.Tensor, rs: tf.Tensor, ws: tf.Tensor) => {
    const [so, yo] = addRmsNorm(xs as tf.Tensor2D, rs as tf.Tensor2D, ws as tf.Tensor1D, eps, variant);
    return tf.add(tf.sum(tf.mul(so, ds)), tf.sum(tf.mul(yo, dy)));
  };
  const [dx, dr, dw] = tf.grads(f)([x, res, w]);
  const ref = addRmsNormReference(xv, rv, wv, dsv, dyv, rows, cols, eps);
  const what = `seed ${r.seed}`;
  expectClose(await s.data(), ref.s, 1e-4, `${what} s`);
  expectClose(await y.data(), ref.y, 1e-4, `${what} y`);
  expectClose(await dx.data(), ref.dx, 1e-4, `${what} dx`);
  expectClose(await dr.data(), ref.dx, 1e-4, `${what} dresidual`);
  expectClose(await dw.data(), ref.dweight, 1e-4, `${what} dweight`);
  tf.dispose([x, res, ds, dy, w, s, y, dx, dr, dw]);
}

describe('rmsNorm', () => {
  useGpu();
  for (const variant of VARIANTS) {
    for (const [rows, cols] of SHAPES) {
      if (variant !== 'threadPerRow' && rows === 300) continue;
      it(`${variant}: forward and backward match the float64 reference and tfjs autodiff, (${rows}, ${cols})`, (test) => {
        skipUnsupported(test, RMSNORM_VARIANTS[variant]);
        return checkAgainstReference(variant, rows, cols);
      });
    }
    for (const [rows, cols] of [
      [1, 1],
      [7, 33],
      [130, 65],
      [5, 770],
    ] as [number, number][]) {
      it(`${variant}: residual add fused with RMSNorm, forward and backward match the reference, (${rows}, ${cols})`, (test) => {
        skipUnsupported(test, RMSNORM_VARIANTS[variant]);
        return checkAddAgainstReference(variant, rows, cols);
      });
    }
  }

  it('gives the same weight gradient bit for bit on every run', async () => {
    const { xv, wv, dyv } = inputs(300, 37);
    const x = tf.tensor2d(xv, [300, 37]);
    const w = tf.tensor1d(wv);
    const dy = tf.tensor2d(dyv, [300, 37]);
    const dw = () => tf.grad((ws: tf.Tensor) => rmsNorm(x, ws as tf.Tensor1D, EPS))(w, dy);
    const [a, b] = [dw(), dw()];
    expect(await a.data()).toEqual(await b.data());
    tf.dispose([x, w, dy, a, b]);
  });

  it('leaves no tensors behind outside a gradient', () => {
    const x = tf.randomNormal([4, 9]) as tf.Tensor2D;
    const w = tf.ones([9]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    const y = rmsNorm(x, w, EPS);
    expect(tf.memory().numTensors).toBe(before + 1);
    const [s, z] = addRmsNorm(x, x, w, EPS);
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([x, w, y, s, z]);
  });
});
