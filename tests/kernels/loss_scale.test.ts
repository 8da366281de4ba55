// Dynamic loss scaling's kernels against their references: the scaler's update (PyTorch's GradScaler semantics:
// skip and back off on overflow, grow after growthInterval good steps), the gradient-scaling op, and the packed
// AdamW step that unscales, clips and skips. All deterministic: the overflows are placed by hand.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, relError, tf, ODD_SIZES } from '../helpers.ts';
import { LossScaler } from '../../src/core/train/loss_scaler.ts';
import { lossScaleUpdate } from '../../src/core/kernels/loss_scale/reference.ts';
import type { LossScaleState } from '../../src/core/kernels/loss_scale/index.ts';
import { adamwLossScaled, sumOfSquares, type AdamWHyper } from '../../src/core/kernels/adamw/index.ts';
import { adamwMultiTensorStep } from '../../src/core/kernels/adamw/reference.ts';
import { allocate, copyElements } from '../../src/core/kernels/runtime.ts';

/** A tensor's current values, read from a copy: these buffers change in place, and tfjs caches what it has read. */
async function readCopy(t: tf.Tensor): Promise<Float32Array> {
  const copy = allocate(t.shape, 'float32');
  copyElements(t, 0, copy, 0, t.size);
  const c = tf.engine().makeTensorFromTensorInfo(copy);
  const data = Float32Array.from((await c.data()) as Float32Array);
  c.dispose();
  return data;
}

const OPTS = { initScale: 2 ** 10, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3 };
const START: LossScaleState = {
  scale: 2 ** 10,
  invScaleUsed: 2 ** -10,
  growthTracker: 0,
  foundInf: false,
  appliedSteps: 0,
  skippedSteps: 0,
};

describe('loss scaler', () => {
  useGpu();

  it('skips and backs off on inf or NaN, grows after growthInterval good steps, as the reference', async () => {
    const scaler = new LossScaler(OPTS);
    let want = START;
    expect(await scaler.read()).toEqual(want);
    // good ×3 (grows), inf, NaN, good ×4 (grows once, tracker 1), good ×2 (grows again)
    const norms = [3, 5, 0.5, Infinity, NaN, 1, 2, 3, 4, 8, 1e30];
    for (const [k, value] of norms.entries()) {
      const norm = tf.scalar(value);
      const unscaled = scaler.update(norm);
      want = lossScaleUpdate(want, Number.isFinite(value), OPTS);
      const got = await scaler.read();
      expect(got, `after norm ${value} (update ${k + 1})`).toEqual(want);
      const u = (await unscaled.data())[0];
      if (Number.isFinite(value)) expect(u).toBe(Math.fround(value * want.invScaleUsed));
      else expect(Number.isFinite(u)).toBe(false);
      tf.dispose([norm, unscaled]);
    }
    expect(want).toMatchObject({ scale: 2 ** 11, skippedSteps: 2, appliedSteps: 9, growthTracker: 0 });
    scaler.dispose();
  });

  it('keeps the scale when growing would overflow f32, as PyTorch', async () => {
    const scaler = new LossScaler({ initScale: 2 ** 127, growthInterval: 1 });
    const norm = tf.scalar(1);
    tf.dispose([scaler.update(norm), norm]);
    expect(await scaler.read()).toMatchObject({ scale: 2 ** 127, growthTracker: 0, appliedSteps: 1 });
    scaler.dispose();
  });

  it('refuses options PyTorch refuses', () => {
    expect(() => new LossScaler({ growthFactor: 1 })).toThrow(/growthFactor/);
    expect(() => new LossScaler({ backoffFactor: 1 })).toThrow(/backoffFactor/);
    expect(() => new LossScaler({ growthInterval: 0 })).toThrow(/growthInterval/);
    expect(() => new LossScaler({ initScale: 0 })).toThrow(/initScale/);
  });

  it('scaleGradient leaves the value and multiplies every gradient behind it by the current scale', async () => {
    const r = rng();
    const scaler = new LossScaler({ initScale: 512 });
    const xv = r.normals(33);
    const x = tf.tensor1d(xv);
    const f = (t: tf.Tensor) => tf.sum(scaler.scaleGradient(tf.mul(t, t)));
    const value = f(x);
    const grad = tf.grad(f)(x);
    expect(relError([(await value.data())[0]], [xv.reduce((s, v) => s + v * v, 0)])).toBeLessThan(1e-5);
    expectClose(
      await grad.data(),
      Array.from(xv, (v) => 512 * 2 * v),
      1e-6,
      `seed ${r.seed}`,
    );
    tf.dispose([x, value, grad]);
    scaler.dispose();
  });
});

describe('AdamW with loss-scaled gradients', () => {
  useGpu();
  const h: Omit<AdamWHyper, 'step'> = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };

  for (const [k, n] of [...ODD_SIZES, 70_001].entries()) {
    const maxNorm = k % 2 ? 0.5 : 0; // clipping on for every other size
    it(`unscales, clips on the unscaled norm, and skips whole steps on inf or NaN, n=${n}, maxNorm ${maxNorm}`, async () => {
      const r = rng();
      const decayEnd = Math.floor(n / 2);
      const scaler = new LossScaler(OPTS);
      let state = START;
      const param = tf.tensor1d(r.normals(n));
      const m = tf.zeros([n]);
      const v = tf.zeros([n]);
      let [refParam, refM, refV] = [await readCopy(param), new Float64Array(n), new Float64Array(n)];
      // Steps 3 and 4 overflow (an inf, then a NaN): both skipped, each halving the scale; the two good steps
      // after them do not reach growthInterval (3), so the last steps run at 2⁸. The learning rate follows the
      // applied steps: steps 5 and 6 take the schedule's 3rd and 4th rates (the 4th is past its end: the last holds).
      const schedule = [1e-2, 3e-3, 2e-2];
      const lrs = tf.tensor1d(schedule);
      const poison = [null, null, Infinity, NaN, null, null];
      for (const [s, bad] of poison.entries()) {
        const what = `seed ${r.seed} step ${s + 1}`;
        const gv = r.normals(n, 0.5);
        const scaled = gv.map((g) => g * state.scale); // what a scaled backward pass hands the optimizer
        if (bad !== null) scaled[r.ints(1, n)[0]] = bad;
        const grad = tf.tensor1d(scaled);
        const norm = sumOfSquares([grad], undefined, true);
        const unscaled = scaler.update(norm);
        adamwLossScaled(param, grad, m, v, norm, scaler.state, lrs, { ...h, decayEnd, maxNorm });
        state = lossScaleUpdate(state, bad === null, OPTS);
        expect(await scaler.read(), what).toEqual(state);
        const [p, mm, vv] = [await readCopy(param), await readCopy(m), await readCopy(v)];
        if (bad !== null) {
          // Skipped: bit for bit what it was.
          expect(Array.from(p), `${what} param`).toEqual(Array.from(refParam));
          expect(Array.from(mm), `${what} m`).toEqual(Array.from(Float32Array.from(refM)));
          expect(Array.from(vv), `${what} v`).toEqual(Array.from(Float32Array.from(refV)));
        } else {
          const lr = schedule[Math.min(state.appliedSteps - 1, schedule.length - 1)];
          const ref = adamwMultiTensorStep(
            refParam,
            gv,
            refM,
            refV,
            { ...h, lr, step: state.appliedSteps },
            decayEnd,
            maxNorm,
          );
          expect(relError(await unscaled.data(), [ref.norm]), `${what} unscaled norm`).toBeLessThan(1e-4);
          expectClose(p, ref.param, 1e-4, `${what} param`);
          expectClose(mm, ref.m, 1e-4, `${what} m`);
          expectClose(vv, ref.v, 1e-4, `${what} v`);
        }
        [refParam, refM, refV] = [p, Float64Array.from(mm), Float64Array.from(vv)];
        tf.dispose([grad, norm, unscaled]);
      }
      tf.dispose([param, m, v, lrs]);
      scaler.dispose();
    });
  }

  it('takes its bias correction from the applied steps, accurately far into training', async () => {
    const r = rng();
    const n = 65;
    for (const appliedSteps of [0, 9, 999, 99_999]) {
      const scaler = new LossScaler({}, { ...START, appliedSteps });
      const param = tf.tensor1d(r.normals(n));
      const mv = r.normals(n, 0.01);
      const vv = r.normals(n, 0.001).map((x) => x * x);
      const m = tf.tensor1d(mv);
      const v = tf.tensor1d(vv);
      const gv = r.normals(n, 0.5);
      const grad = tf.tensor1d(gv.map((g) => g * 2 ** 10));
      const norm = sumOfSquares([grad], undefined, true);
      const paramBefore = await readCopy(param);
      const lrs = tf.tensor1d([h.lr]);
      tf.dispose(scaler.update(norm));
      adamwLossScaled(param, grad, m, v, norm, scaler.state, lrs, { ...h, decayEnd: n, maxNorm: 0 });
      const ref = adamwMultiTensorStep(paramBefore, gv, mv, vv, { ...h, step: appliedSteps + 1 }, n, 0);
      // The update's own size, lr·m̂/(√v̂ + eps), is what the bias correction scales: compare that.
      const got = await readCopy(param);
      const delta = (a: ArrayLike<number>) => Array.from(a, (x, i) => x - paramBefore[i] * (1 - h.lr * h.weightDecay));
      expectClose(delta(got), delta(ref.param), 1e-4, `seed ${r.seed} t=${appliedSteps + 1}`);
      tf.dispose([param, m, v, grad, norm, lrs]);
      scaler.dispose();
    }
  });
});
