// Dropout as a tfjs op whose gradient regenerates the mask from the seed (shaders/dropout.wgsl): nothing but the
// seed is saved for the backward pass, and the mask is the one the float64 reference (reference.ts) computes from
// the same hash (seeds.ts).
import { util, type Tensor, type TensorInfo, type NamedAttrMap } from '@tensorflow/tfjs-core';
import dropoutSource from '../../../../shaders/dropout.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { dropoutThreshold } from './seeds.ts';

const WG = 256;
const DROPOUT = defineKernel({
  name: 'dropout',
  source: dropoutSource,
  buffers: { x: 'read', y: 'read_write' },
  uniforms: { n: 'u32', inner: 'u32', seed: 'u32', threshold: 'u32', scale: 'f32' },
});

/** y = x·mask/(1 − p), with x seen as rows of `inner` elements (the mask's (row, index) coordinates). */
export function dropoutKernel(x: TensorInfo, p: number, seed: number, inner: number): TensorInfo {
  const n = util.sizeFromShape(x.shape);
  if (!Number.isInteger(inner) || inner < 1 || n % inner !== 0)
    throw new Error(`dropout: rows of ${inner} do not tile ${n} elements`);
  const y = allocate(x.shape);
  dispatch({
    kernel: { ...DROPOUT, consts: { WG } },
    buffers: { x, y },
    uniforms: { n, inner, seed: seed >>> 0, threshold: dropoutThreshold(p), scale: 1 / (1 - p) },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return y;
}

const attrsOf = (a: NamedAttrMap) => [a.p as number, a.seed as number, a.inner as number] as const;

registerOp({
  name: 'HearthDropout',
  inputs: ['x'],
  forward: ({ x }, attrs) => dropoutKernel(x, ...attrsOf(attrs)),
  gradient: {
    // Dropout is linear in x with the mask fixed by the seed: dx is dy through the same mask.
    grad: (dy, _saved, attrs) => ({ x: () => runOp('HearthDropout', { x: dy as Tensor }, attrs) }),
  },
});

/**
 * Inverted dropout of x (training only): each element kept with probability 1 − p and scaled by 1/(1 − p). The
 * mask is a function of (seed, row, index) with rows of `inner` elements (x's last dimension by default).
 */
export function dropout<T extends Tensor>(x: T, p: number, seed: number, inner = x.shape[x.shape.length - 1] ?? 1): T {
  dropoutThreshold(p); // refuses p outside [0, 1) before anything runs
  return runOp<T>('HearthDropout', { x }, { p, seed: seed >>> 0, inner });
}
