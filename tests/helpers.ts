// Shared by the kernel and model tests: a real WebGPU device (Dawn; SwiftShader without a GPU),
// fresh random inputs, poisoned outputs, and a comparison against float64 references.
import { afterEach, beforeAll, expect, type TestContext } from 'vitest';
import { initTf, tf } from '../src/core/gpu/tf.ts';
import type { GpuContext } from '../src/core/gpu/device.ts';
import { setPoisonOutputs, hasSubgroups, type Reduction } from '../src/core/kernels/runtime.ts';

export { tf };

let ctx: GpuContext | null = null;

/** Call at the top of a test file: every test then runs on the GPU with poisoned outputs. */
export function useGpu(): () => GpuContext {
  beforeAll(async () => {
    ctx = await initTf(); // throws (and fails the file) when there is no WebGPU adapter at all
    setPoisonOutputs(true);
  });
  afterEach(async () => {
    // Let queued work finish, then fail on any WebGPU validation error it raised.
    await ctx?.device.queue.onSubmittedWorkDone();
    ctx?.throwIfErrors();
  });
  return () => {
    if (!ctx) throw new Error('GPU not initialised');
    return ctx;
  };
}

/** A seeded generator (mulberry32); seeds come from the clock so each run draws fresh inputs. */
export function rng(seed = (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = Math.max(next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return {
    seed,
    uniform: next,
    normal,
    /** n normal values times scale, as float32 (what the GPU will see) */
    normals(n: number, scale = 1): Float32Array {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = normal() * scale;
      return a;
    },
    ints(n: number, hi: number): Int32Array {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(next() * hi);
      return a;
    },
  };
}

/**
 * Largest error relative to the reference, element by element, measured against max(|ref_i|, rms(ref))
 * so that elements near zero are judged on the array's scale. NaN anywhere gives Infinity.
 */
export function relError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) throw new Error(`length ${actual.length} vs reference ${reference.length}`);
  let ss = 0;
  for (let i = 0; i < reference.length; i++) ss += reference[i] * reference[i];
  const rms = Math.sqrt(ss / Math.max(1, reference.length)) || 1e-30;
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = actual[i];
    if (!Number.isFinite(a)) return Infinity;
    const e = Math.abs(a - reference[i]) / Math.max(Math.abs(reference[i]), rms);
    if (e > worst) worst = e;
  }
  return worst;
}

export function expectClose(actual: ArrayLike<number>, reference: ArrayLike<number>, tol = 1e-4, what = ''): void {
  const e = relError(actual, reference);
  expect(e, `${what} relative error ${e}`).toBeLessThan(tol);
}

/** Odd sizes, none a multiple of a tile. */
export const ODD_SIZES = [1, 7, 33, 65, 130];

/** Skips (visibly, with the reason) a test of a subgroup variant on a device without the `subgroups` feature. */
export function skipUnsupported(test: TestContext, variant: { reduction: Reduction }): void {
  if (variant.reduction === 'subgroup' && !hasSubgroups()) test.skip('the device has no subgroups feature');
}
