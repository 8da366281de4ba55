import { describe, it } from 'vitest';
import { useGpu, rng, expectClose, tf, ODD_SIZES } from '../helpers.ts';
import { gelu } from '../../src/core/kernels/gelu/index.ts';
import {
  geluForward,
  geluBackward,
  geluExactForward,
  geluExactBackward,
} from '../../src/core/kernels/gelu/reference.ts';

const REFERENCES = {
  gelu_new: { exact: false, forward: geluForward, backward: geluBackward },
  exact: { exact: true, forward: geluExactForward, backward: geluExactBackward },
};

describe('gelu (gelu_new and the exact GELU)', () => {
  useGpu();
  for (const [kind, { exact, forward, backward }] of Object.entries(REFERENCES))
    for (const n of ODD_SIZES) {
      it(`${kind}: forward and backward match the float64 reference, n=${n}`, async () => {
        const r = rng();
        const xv = r.normals(n * 3, 4); // wide enough to reach the far negative tail
        const dyv = r.normals(n * 3);
        const x = tf.tensor2d(xv, [n, 3]);
        const dy = tf.tensor2d(dyv, [n, 3]);
        const y = gelu(x, exact);
        const dx = tf.grad((t: tf.Tensor) => gelu(t, exact))(x, dy);
        expectClose(await y.data(), forward(xv), 1e-4, `seed ${r.seed} y`);
        expectClose(await dx.data(), backward(xv, dyv), 1e-4, `seed ${r.seed} dx`);
        tf.dispose([x, dy, y, dx]);
      });
    }
});
