import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, relError, tf, ODD_SIZES, skipUnsupported } from '../helpers.ts';
import {
  adamw,
  adamwMultiTensor,
  sumOfSquares,
  clipScale,
  SUM_OF_SQUARES_VARIANTS,
  type AdamWHyper,
  type SumOfSquaresVariantName,
} from '../../src/core/kernels/adamw/index.ts';
import {
  adamwStep,
  adamwMultiTensorStep,
  sumOfSquaresReference,
  clipScaleReference,
} from '../../src/core/kernels/adamw/reference.ts';

const STEPS = 4;

describe('adamw', () => {
  useGpu();
  for (const n of ODD_SIZES) {
    for (const scaled of [false, true]) {
      it(`${STEPS} steps match the float64 reference, n=${n}, weight decay, ${scaled ? 'a' : 'no'} gradScale`, async () => {
        const r = rng();
        const h: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 };
        const shape = [n, 3];
        let refParam = Float64Array.from(r.normals(n * 3));
        let refM = new Float64Array(n * 3);
        let refV = new Float64Array(n * 3);
        let param: tf.Tensor = tf.tensor(Float32Array.from(refParam), shape);
        let m: tf.Tensor = tf.zeros(shape);
        let v: tf.Tensor = tf.zeros(shape);
        for (let step = 1; step <= STEPS; step++) {
          const gv = r.normals(n * 3, 0.5);
          const scaleValue = scaled ? 0.25 + r.uniform() : 1;
          const grad = tf.tensor(gv, shape);
          const gradScale = scaled ? tf.scalar(scaleValue) : undefined;
          const next = adamw(param, grad, m, v, { ...h, step }, gradScale);
          tf.dispose([param, m, v, grad, ...(gradScale ? [gradScale] : [])]);
          ({ param, m, v } = next);
          // The reference continues from the GPU's float32 state, so errors do not compound across steps.
          const ref = adamwStep(refParam, gv, refM, refV, { ...h, step }, Math.fround(scaleValue));
          const what = `seed ${r.seed} step ${step}`;
          expectClose(await param.data(), ref.param, 1e-4, `${what} param`);
          expectClose(await m.data(), ref.m, 1e-4, `${what} m`);
          expectClose(await v.data(), ref.v, 1e-4, `${what} v`);
          refParam = Float64Array.from(await param.data());
          refM = Float64Array.from(await m.data());
          refV = Float64Array.from(await v.data());
        }
        expect(param.shape).toEqual(shape);
        tf.dispose([param, m, v]);
      });
    }
  }

  // maxNorm 0.5 clips (the gradients' norm is larger), 1e6 does not, 0 turns clipping off.
  const MULTI_CASES: { n: number; decayEnd: number; maxNorm: number }[] = [
    { n: 1, decayEnd: 1, maxNorm: 0 },
    { n: 7, decayEnd: 0, maxNorm: 0.5 },
    { n: 33, decayEnd: 20, maxNorm: 1e6 },
    { n: 65, decayEnd: 65, maxNorm: 0.5 },
    { n: 130, decayEnd: 33, maxNorm: 0 },
    { n: 70_001, decayEnd: 65_537, maxNorm: 0.5 },
  ];
  for (const { n, decayEnd, maxNorm } of MULTI_CASES) {
    it(`multi-tensor: ${STEPS} in-place steps match the float64 reference, n=${n}, decay below ${decayEnd}, maxNorm ${maxNorm}`, async () => {
      const r = rng();
      const h: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 };
      const param = tf.tensor1d(r.normals(n));
      const m = tf.zeros([n]);
      const v = tf.zeros([n]);
      let [refParam, refM, refV] = [Float64Array.from(await param.data()), new Float64Array(n), new Float64Array(n)];
      for (let step = 1; step <= STEPS; step++) {
        const gv = r.normals(n, 0.5);
        const grad = tf.tensor1d(gv);
        const norm = sumOfSquares([grad], undefined, true);
        adamwMultiTensor(param, grad, m, v, norm, { ...h, step, decayEnd, maxNorm });
        const ref = adamwMultiTensorStep(refParam, gv, refM, refV, { ...h, step }, decayEnd, maxNorm);
        const what = `seed ${r.seed} step ${step}`;
        expect(relError(await norm.data(), [ref.norm]), `${what} norm`).toBeLessThan(1e-4);
        // Read through copies: the buffers change in place, and tfjs would answer a second read from its CPU copy.
        const [p, mm, vv] = await Promise.all([param, m, v].map((t) => tf.add(t, 0).data()));
        expectClose(p, ref.param, 1e-4, `${what} param`);
        expectClose(mm, ref.m, 1e-4, `${what} m`);
        expectClose(vv, ref.v, 1e-4, `${what} v`);
        [refParam, refM, refV] = [Float64Array.from(p), Float64Array.from(mm), Float64Array.from(vv)];
        tf.dispose([grad, norm]);
      }
      tf.dispose([param, m, v]);
    });
  }

  for (const variant of Object.keys(SUM_OF_SQUARES_VARIANTS) as SumOfSquaresVariantName[]) {
    it(`${variant}: sumOfSquares over many tensors of odd sizes matches the reference`, async (test) => {
      skipUnsupported(test, SUM_OF_SQUARES_VARIANTS[variant]);
      const r = rng();
      // 1 100 007 elements: more partials than the final kernel's workgroup has threads.
      const sizes = [1, 7, 33, 65, 130, 4097, 1_100_007];
      const arrays = sizes.map((s) => r.normals(s, 0.1));
      const tensors = arrays.map((a) => tf.tensor1d(a));
      const sumSq = sumOfSquares(tensors, variant);
      expect(sumSq.shape).toEqual([]);
      const got = (await sumSq.data())[0];
      const want = sumOfSquaresReference(arrays);
      expect(relError([got], [want]), `seed ${r.seed}: ${got} vs ${want}`).toBeLessThan(1e-4);
      tf.dispose([...tensors, sumSq]);
    });
  }

  it('sumOfSquares of no tensors is 0', async () => {
    const sumSq = sumOfSquares([]);
    expect((await sumSq.data())[0]).toBe(0);
    sumSq.dispose();
  });

  it('clipScale is min(1, maxNorm / (norm + 1e-6)) and feeds adamw as gradScale on the GPU', async () => {
    const r = rng();
    const gv = r.normals(65, 2);
    const grad = tf.tensor1d(gv);
    const sumSq = sumOfSquares([grad]);
    const ss = sumOfSquaresReference([gv]);
    for (const maxNorm of [0.5, 1e6]) {
      const scale = clipScale(sumSq, maxNorm);
      const want = clipScaleReference(ss, maxNorm);
      expect(relError(await scale.data(), [want]), `seed ${r.seed} maxNorm ${maxNorm}`).toBeLessThan(1e-4);
      scale.dispose();
    }
    const scale = clipScale(sumSq, 0.5);
    const zeros = tf.zeros([65]);
    const param = tf.tensor1d(r.normals(65));
    const h: AdamWHyper = { lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, step: 1 };
    const next = adamw(param, grad, zeros, zeros, h, scale);
    const ref = adamwStep(
      await param.data(),
      gv,
      new Float64Array(65),
      new Float64Array(65),
      h,
      clipScaleReference(ss, 0.5),
    );
    expectClose(await next.m.data(), ref.m, 1e-4, `seed ${r.seed} m`);
    expectClose(await next.param.data(), ref.param, 1e-4, `seed ${r.seed} param`);
    tf.dispose([grad, sumSq, scale, zeros, param, next.param, next.m, next.v]);
  });
});
