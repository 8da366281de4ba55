import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf, ODD_SHAPES } from '../helpers.ts';
import { swiglu } from '../../src/core/kernels/swiglu/index.ts';
import { stockSwiglu } from '../../src/core/kernels/swiglu/stock.ts';
import { swigluForward, swigluBackward } from '../../src/core/kernels/swiglu/reference.ts';

describe('swiglu', () => {
  useGpu();
  for (const [rows, cols] of [...ODD_SHAPES, [3, 700] as [number, number]]) {
    it(`forward and backward match the float64 reference and tfjs autodiff, (${rows}, ${cols})`, async () => {
      const r = rng();
      const n = rows * cols;
      const gv = r.normals(n, 6); // wide enough to reach both saturated tails of σ
      const uv = r.normals(n);
      const dyv = r.normals(n);
      const [gate, up, dy] = [gv, uv, dyv].map((v) => tf.tensor2d(v, [rows, cols]));
      const y = swiglu(gate as tf.Tensor2D, up as tf.Tensor2D);
      const f = (g: tf.Tensor, u: tf.Tensor) => swiglu(g as tf.Tensor2D, u as tf.Tensor2D);
      const [dg, du] = tf.grads(f)([gate, up], dy);
      const grad = swigluBackward(gv, uv, dyv);
      expectClose(await y.data(), swigluForward(gv, uv), 1e-4, `seed ${r.seed} y`);
      expectClose(await dg.data(), grad.dgate, 1e-4, `seed ${r.seed} dgate`);
      expectClose(await du.data(), grad.dup, 1e-4, `seed ${r.seed} dup`);
      const stock = (g: tf.Tensor, u: tf.Tensor) => stockSwiglu(g as tf.Tensor2D, u as tf.Tensor2D);
      const [sg, su] = tf.grads(stock)([gate, up], dy);
      expectClose(await dg.data(), await sg.data(), 1e-3, `seed ${r.seed} dgate vs tfjs autodiff`);
      expectClose(await du.data(), await su.data(), 1e-3, `seed ${r.seed} dup vs tfjs autodiff`);
      tf.dispose([gate, up, dy, y, dg, du, sg, su]);
    });
  }

  it('is finite for gates far in either tail', async () => {
    const gate = tf.tensor2d([-1e30, -200, -90, 90, 200, 1e30], [1, 6]);
    const up = tf.ones([1, 6]) as tf.Tensor2D;
    const [dg, du] = tf.grads((g: tf.Tensor, u: tf.Tensor) => swiglu(g as tf.Tensor2D, u as tf.Tensor2D))([gate, up]);
    for (const v of [await swiglu(gate, up).data(), await dg.data(), await du.data()]) {
      expect([...v].every(Number.isFinite)).toBe(true);
    }
    tf.dispose([gate, up, dg, du]);
  });

  it('refuses gate and up of different shapes', () => {
    const [a, b] = [tf.zeros([2, 3]), tf.zeros([3, 2])] as tf.Tensor2D[];
    expect(() => swiglu(a, b)).toThrow(/gate \(2, 3\) and up \(3, 2\) differ in shape/);
    tf.dispose([a, b]);
  });
});
