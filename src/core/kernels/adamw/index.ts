// AdamW (PyTorch's torch.optim.AdamW semantics) and global-norm clipping that never reads back to the CPU.
//   adamw:        param, grad, m, v [, gradScale] -> new param, m, v (one elementwise kernel)
//   adamwMultiTensor: the same step over all of a model's parameters packed into flat buffers, in place, with
//                 the clip factor taken from the norm inside the kernel: one dispatch per step
//   sumOfSquares: Σ g² over many tensors -> scalar on the GPU (per-tensor partials, then one final sum),
//                 or its square root, the global norm
//   clipScale:    min(1, maxNorm / (sqrt(sumSq) + 1e-6)) -> scalar on the GPU
import type { Scalar, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import adamwSource from '../../../../shaders/adamw.wgsl?raw';
import multiTensorSource from '../../../../shaders/adamw_multi_tensor.wgsl?raw';
import partialsSource from '../../../../shaders/adamw_sum_of_squares_partials.wgsl?raw';
import clipScaleSource from '../../../../shaders/adamw_clip_scale.wgsl?raw';
import {
  allocate,
  release,
  dispatch,
  grid1d,
  ceilDiv,
  defineKernel,
  preferredVariant,
  type Reduction,
} from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { include } from '../shader_source.ts';
import { sumKernel } from '../sum/index.ts';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

const WG = 256;

const ADAMW = defineKernel({
  name: 'adamw',
  source: adamwSource,
  buffers: {
    param: 'read',
    grad: 'read',
    m: 'read',
    v: 'read',
    grad_scale: 'read',
    param_out: 'read_write',
    m_out: 'read_write',
    v_out: 'read_write',
  },
  uniforms: {
    n: 'u32',
    beta1: 'f32',
    beta2: 'f32',
    eps: 'f32',
    decay_factor: 'f32',
    step_size: 'f32',
    inv_sqrt_bc2: 'f32',
  },
});

const MULTI_TENSOR = defineKernel({
  name: 'adamw_multi_tensor',
  source: multiTensorSource,
  buffers: { param: 'read_write', grad: 'read', m: 'read_write', v: 'read_write', norm: 'read' },
  uniforms: {
    n: 'u32',
    decay_end: 'u32',
    beta1: 'f32',
    beta2: 'f32',
    eps: 'f32',
    decay_factor: 'f32',
    step_size: 'f32',
    inv_sqrt_bc2: 'f32',
    max_norm: 'f32',
  },
});

const SUM_OF_SQUARES_CONTRACT = {
  buffers: { x: 'read', partials: 'read_write' },
  uniforms: { n: 'u32', offset: 'u32' },
} as const;
const PARTIALS = defineKernel({
  name: 'adamw_sum_of_squares_partials',
  source: partialsSource,
  ...SUM_OF_SQUARES_CONTRACT,
});
const CLIP_SCALE = defineKernel({
  name: 'adamw_clip_scale',
  source: clipScaleSource,
  buffers: { sum_sq: 'read', scale: 'read_write' },
  uniforms: { max_norm: 'f32' },
});

/** How sumOfSquares's first level is laid out; every variant gives the same result (up to rounding). */
export interface SumOfSquaresVariant {
  workgroupSize: number;
  elementsPerThread: number;
  /** one partial per thread, no barriers ('perThread'), or one per workgroup, summed in workgroup memory or by
   * subgroupAdd and one barrier ('subgroup': needs the `subgroups` feature) */
  reduction: Reduction;
}

export const SUM_OF_SQUARES_VARIANTS = {
  /** for GPUs without subgroups */
  workgroupReduce: { workgroupSize: 256, elementsPerThread: 16, reduction: 'workgroup' },
  /** for CPU emulation (SwiftShader), where barriers dominate */
  partialPerThread: { workgroupSize: 64, elementsPerThread: 64, reduction: 'perThread' },
  /** where the device has subgroups */
  subgroupReduce: { workgroupSize: 128, elementsPerThread: 16, reduction: 'subgroup' },
} satisfies Record<string, SumOfSquaresVariant>;

export type SumOfSquaresVariantName = keyof typeof SUM_OF_SQUARES_VARIANTS;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function adamwKernel(
  param: TensorInfo,
  grad: TensorInfo,
  m: TensorInfo,
  v: TensorInfo,
  gradScale: TensorInfo | null,
  h: AdamWHyper,
): [TensorInfo, TensorInfo, TensorInfo] {
  const n = size(param.shape);
  for (const [name, t] of [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const) {
    if (size(t.shape) !== n) throw new Error(`adamw: ${name} has shape (${t.shape}), param (${param.shape})`);
  }
  if (!(Number.isInteger(h.step) && h.step >= 1)) throw new Error(`adamw: step must be an integer ≥ 1, got ${h.step}`);
  const paramOut = allocate(param.shape);
  const mOut = allocate(param.shape);
  const vOut = allocate(param.shape);
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  dispatch({
    kernel: { ...ADAMW, consts: { WG, HAS_GRAD_SCALE: gradScale !== null } },
    buffers: { param, grad, m, v, grad_scale: gradScale ?? grad, param_out: paramOut, m_out: mOut, v_out: vOut },
    uniforms: {
      n,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      decay_factor: 1 - h.lr * h.weightDecay,
      step_size: h.lr / bc1,
      inv_sqrt_bc2: 1 / Math.sqrt(bc2),
    },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return [paramOut, mOut, vOut];
}

/** Σ x² over all the tensors (or its square root when `sqrt`), as a scalar on the GPU. */
export function sumOfSquaresKernel(tensors: TensorInfo[], variant: SumOfSquaresVariant, sqrt = false): TensorInfo {
  const { workgroupSize, elementsPerThread, reduction } = variant;
  const workgroupReduce = reduction !== 'perThread';
  const chunkSize = workgroupSize * elementsPerThread;
  const partialsPerChunk = workgroupReduce ? 1 : workgroupSize;
  const chunks = tensors.map((t) => ceilDiv(size(t.shape), chunkSize));
  const total = chunks.reduce((a, b) => a + b, 0) * partialsPerChunk;
  // An empty list (or only empty tensors) still gets a written 0 from the final sum.
  const partials = allocate([Math.max(1, total)]);
  let offset = 0;
  tensors.forEach((t, i) => {
    dispatch({
      kernel: {
        ...PARTIALS,
        ...(reduction === 'subgroup'
          ? { name: `${PARTIALS.name}_subgroup`, regions: { row_sum: include('row_sum_subgroup') } }
          : {}),
        consts: { WG: workgroupSize, ELEMENTS_PER_THREAD: elementsPerThread, WORKGROUP_REDUCE: workgroupReduce },
      },
      buffers: { x: t, partials },
      uniforms: { n: size(t.shape), offset },
      workgroups: grid1d(chunks[i]),
    });
    offset += chunks[i] * partialsPerChunk;
  });
  const out = sumKernel(partials, total, { name: 'adamw_sum_of_squares_final', sqrt });
  release(partials);
  return out;
}

export interface MultiTensorHyper extends AdamWHyper {
  /** elements below this index take weight decay, the rest do not (the packing puts decaying tensors first) */
  decayEnd: number;
  /** clip the gradient to this global norm; 0 for no clipping */
  maxNorm: number;
}

/** The packed updates' checks: grad, m and v as long as param, decayEnd within it. Returns n. */
export function checkPackedOperands(
  param: TensorInfo,
  grad: TensorInfo,
  m: TensorInfo,
  v: TensorInfo,
  decayEnd: number,
): number {
  const n = size(param.shape);
  for (const [name, t] of [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const) {
    if (size(t.shape) !== n) throw new Error(`adamw: ${name} has shape (${t.shape}), param (${param.shape})`);
  }
  if (!(decayEnd >= 0 && decayEnd <= n)) throw new Error(`adamw: decayEnd ${decayEnd} outside [0, ${n}]`);
  return n;
}

/** The max_norm uniform: 0 for no clipping (max_norm ≤ 0 or infinite). */
export const maxNormUniform = (maxNorm: number) => (maxNorm > 0 && Number.isFinite(maxNorm) ? maxNorm : 0);

/**
 * One AdamW step in place over flat param, m and v (n elements each) from the flat grad, clipped by the global
 * gradient norm `norm` (a scalar on the GPU, e.g. from sumOfSquares(..., sqrt)). One dispatch for a whole model.
 */
export function adamwMultiTensorKernel(
  param: TensorInfo,
  grad: TensorInfo,
  m: TensorInfo,
  v: TensorInfo,
  norm: TensorInfo,
  h: MultiTensorHyper,
): void {
  const n = checkPackedOperands(param, grad, m, v, h.decayEnd);
  if (!(Number.isInteger(h.step) && h.step >= 1)) throw new Error(`adamw: step must be an integer ≥ 1, got ${h.step}`);
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  dispatch({
    kernel: { ...MULTI_TENSOR, consts: { WG } },
    buffers: { param, grad, m, v, norm },
    uniforms: {
      n,
      decay_end: h.decayEnd,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      decay_factor: 1 - h.lr * h.weightDecay,
      step_size: h.lr / bc1,
      inv_sqrt_bc2: 1 / Math.sqrt(bc2),
      max_norm: maxNormUniform(h.maxNorm),
    },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
}

export function clipScaleKernel(sumSq: TensorInfo, maxNorm: number): TensorInfo {
  const scale = allocate([]);
  dispatch({
    kernel: CLIP_SCALE,
    buffers: { sum_sq: sumSq, scale },
    uniforms: { max_norm: maxNorm },
    workgroups: [1],
  });
  return scale;
}

registerOp({
  name: 'HearthAdamW',
  inputs: ['param', 'grad', 'm', 'v', 'gradScale'],
  forward: ({ param, grad, m, v, gradScale }, attrs) =>
    adamwKernel(param, grad, m, v, gradScale ?? null, attrs as unknown as AdamWHyper),
});
registerOp({
  name: 'HearthAdamWMultiTensor',
  inputs: ['param', 'grad', 'm', 'v', 'norm'],
  // In place: param, m and v are the optimizer's own packed buffers, so the op has no outputs.
  forward: ({ param, grad, m, v, norm }, attrs) => {
    adamwMultiTensorKernel(param, grad, m, v, norm, attrs as unknown as MultiTensorHyper);
    return [];
  },
});
registerOp({
  name: 'HearthSumOfSquares',
  inputs: [], // any number, named t0, t1, ... in order
  forward: (inputs, attrs) =>
    sumOfSquaresKernel(
      Object.values(inputs),
      SUM_OF_SQUARES_VARIANTS[attrs.variant as SumOfSquaresVariantName],
      attrs.sqrt === true,
    ),
});
registerOp({
  name: 'HearthClipScale',
  inputs: ['sumSq'],
  forward: ({ sumSq }, attrs) => clipScaleKernel(sumSq, attrs.maxNorm as number),
});

/** One decoupled-weight-decay Adam step (PyTorch AdamW semantics, bias-corrected with `step`, 1-based):
 * g = grad·gradScale (gradScale: optional scalar tensor on the GPU, e.g. a clip factor, never read back);
 * returns new tensors. */
export function adamw(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  h: AdamWHyper,
  gradScale?: Tensor,
): { param: Tensor; m: Tensor; v: Tensor } {
  const inputs: Record<string, Tensor> = { param, grad, m, v };
  if (gradScale) inputs.gradScale = gradScale;
  const { lr, beta1, beta2, eps, weightDecay, step } = h;
  const [p, mNew, vNew] = runOp<Tensor[]>('HearthAdamW', inputs, { lr, beta1, beta2, eps, weightDecay, step });
  return { param: p, m: mNew, v: vNew };
}

/** Σ g² over all tensors (or, with `sqrt`, the global norm), as a scalar tensor on the GPU (for global-norm
 * clipping without readback). `variant` is for tests and benchmarks; by default the device chooses. */
export function sumOfSquares(
  tensors: Tensor[],
  variant: SumOfSquaresVariantName = preferredVariant(SUM_OF_SQUARES_VARIANTS),
  sqrt = false,
): Scalar {
  const inputs: Record<string, Tensor> = {};
  tensors.forEach((t, i) => (inputs[`t${i}`] = t));
  return runOp<Scalar>('HearthSumOfSquares', inputs, { variant, sqrt });
}

/** adamwMultiTensorKernel as a tfjs operation (so profiles see it); updates param, m and v in place. */
export function adamwMultiTensor(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  norm: Tensor,
  h: MultiTensorHyper,
): void {
  const { lr, beta1, beta2, eps, weightDecay, step, decayEnd, maxNorm } = h;
  runOp(
    'HearthAdamWMultiTensor',
    { param, grad, m, v, norm },
    { lr, beta1, beta2, eps, weightDecay, step, decayEnd, maxNorm },
  );
}

/** min(1, maxNorm / (sqrt(sumSq) + 1e-6)) as a scalar tensor on the GPU. */
export function clipScale(sumSq: Tensor, maxNorm: number): Scalar {
  return runOp<Scalar>('HearthClipScale', { sumSq }, { maxNorm });
}
