// Shared by the kernel and model tests: a real WebGPU device (Dawn; SwiftShader without a GPU),
// fresh random inputs (reproducible with HEARTH_TEST_SEED), poisoned outputs, and a comparison against float64
// references.
import { afterEach, beforeAll, expect, type TestContext } from 'vitest';
import { initTf, tf } from '../src/core/gpu/tf.ts';
import type { GpuContext } from '../src/core/gpu/device.ts';
import { Random } from '../src/core/util/random.ts';
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

/**
 * The run's seed. Every rng() without a seed of its own derives one from it, the test's name and how many it drew
 * before in that test, so a test draws the same inputs whenever the run seed is the same, alone or among others.
 * From HEARTH_TEST_SEED when set, else from the clock, so each run draws fresh inputs; a failing test prints it.
 */
export const RUN_SEED = parseRunSeed(process.env.HEARTH_TEST_SEED);

/** HEARTH_TEST_SEED's value, or a seed from the clock when it is unset. */
export function parseRunSeed(env: string | undefined): number {
  if (env === undefined || env === '') return (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  if (!/^\d+$/.test(env) || Number(env) > 0xffffffff) {
    throw new Error(`HEARTH_TEST_SEED must be an integer in [0, 4294967295], got '${env}'`);
  }
  return Number(env);
}

/** The seed of draw `k` in the test named `testName` under `runSeed`: FNV-1a of the three. */
export function seedFor(runSeed: number, testName: string, k: number): number {
  const text = `${runSeed}|${testName}|${k}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const draws = new Map<string, number>();

/** A seed for the current test's next rng(). */
function testSeed(): number {
  const state = expect.getState();
  const name = state.currentTestName ?? '(collecting)';
  // Test files share one process, and two files may name a test alike: the count is kept per file.
  const key = `${state.testPath ?? ''}|${name}`;
  const k = draws.get(key) ?? 0;
  draws.set(key, k + 1);
  return seedFor(RUN_SEED, name, k);
}

/** A seeded generator (mulberry32, util/random.ts); by default seeded for the current test from RUN_SEED. */
export function rng(seed = testSeed()) {
  const r = new Random(seed);
  return {
    seed,
    uniform: () => r.next(),
    normal: () => r.normal(),
    /** n normal values times scale, as float32 (what the GPU will see) */
    normals: (n: number, scale = 1): Float32Array => r.normals(n, scale),
    ints(n: number, hi: number): Int32Array {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = r.int(hi);
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

/** (rows, cols) from the odd sizes: a single element, short and long rows, more rows than a tile or two. */
export const ODD_SHAPES: [number, number][] = [
  [1, 1],
  [7, 33],
  [33, 7],
  [65, 130],
  [130, 65],
];

/** Skips (visibly, with the reason) a test of a subgroup variant on a device without the `subgroups` feature. */
export function skipUnsupported(test: TestContext, variant: { reduction: Reduction }): void {
  if (variant.reduction === 'subgroup' && !hasSubgroups()) test.skip('the device has no subgroups feature');
}
