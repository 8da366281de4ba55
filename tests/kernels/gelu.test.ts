import { describe, it } from 'vitest';
import { useGpu, rng, expectClose, tf, ODD_SIZES } from '../helpers.ts';
import { gelu } from '../../src/core/kernels/gelu/index.ts';
import { geluForward, geluBackward } from '../../src/core/kernels/gelu/reference.ts';

describe('gelu (gelu_new)', () => {
  useGpu();
  for (const n of ODD_SIZES) {
    it(`forward and backward match the float64 reference, n=${n}`, async () => {
      const r = rng();
      const xv = r.normals(n * 3, 4); // wide enough to reach the far negative tail
      const dyv = r.normals(n * 3);
      const x = tf.tensor2d(xv, [n, 3]);
      const dy = tf.tensor2d(dyv, [n, 3]);
      const y = gelu(x);
      const dx = tf.grad((t: tf.Tensor) => gelu(t))(x, dy);
      expectClose(await y.data(), geluForward(xv), 1e-4, `seed ${r.seed} y`);
      expectClose(await dx.data(), geluBackward(xv, dyv), 1e-4, `seed ${r.seed} dx`);
      tf.dispose([x, dy, y, dx]);
    });
  }
});
