// AdamW (PyTorch's torch.optim.AdamW semantics) and global-norm clipping that never reads back to the CPU.
//   adamw:            param, grad, m, v [, gradScale] -> new param, m, v (one elementwise kernel per tensor)
//   adamwMultiTensor: the same step over all of a model's parameters packed into flat buffers, in place, with
//                     the clip factor taken from the norm inside the kernel: one dispatch per step
//   adamwLossScaled:  the packed step for loss-scaled gradients (mixed precision): it unscales them by the scale
//                     they carry, clips on the unscaled norm, and skips the whole update when the loss scaler found
//                     an inf or NaN. Everything it needs from the step (skip, scale, its step count t) is read from
//                     the scaler's state on the GPU, and so is the learning rate: from a schedule indexed by
//                     applied steps.
//   sumOfSquares:     Σ g² over many tensors -> scalar on the GPU (per-tensor partials, then one final sum),
//                     or its square root, the global norm
//   clipScale:        min(1, maxNorm / (sqrt(sumSq) + 1e-6)) -> scalar on the GPU
// The three AdamW steps are one op whose `packing` attribute chooses the kernel (adamw.wgsl, or the entry points of
// adamw_multi_tensor.wgsl), registered under a name per packing so that profiles tell them apart.
import { util, type NamedAttrMap, type Scalar, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import adamwSource from '../../../../shaders/adamw.wgsl?raw';
import multiTensorSource from '../../../../shaders/adamw_multi_tensor.wgsl?raw';
import partialsSource from '../../../../shaders/adamw_sum_of_squares_partials.wgsl?raw';
import clipScaleSource from '../../../../shaders/adamw_clip_scale.wgsl?raw';
import { allocate, release, dispatch, grid1d, ceilDiv, defineKernel, preferredVariant } from '../runtime.ts';
import type { Reduction } from '../runtime.ts';
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

export interface MultiTensorHyper extends AdamWHyper {
  /** elements below this index take weight decay, the rest do not (the packing puts decaying tensors first) */
  decayEnd: number;
  /** clip the gradient to this global norm; 0 for no clipping */
  maxNorm: number;
}

/** AdamW's hyperparameters less the step and the learning rate, which come from the scaler's state. */
export type LossScaledHyper = Omit<MultiTensorHyper, 'step' | 'lr'>;

/** Which AdamW step: one tensor out of place, or a packed model in place, its gradients plain or loss-scaled. */
type Packing = 'tensor' | 'packed' | 'lossScaled';
const OP_NAMES: Record<Packing, string> = {
  tensor: 'HearthAdamW',
  packed: 'HearthAdamWMultiTensor',
  lossScaled: 'HearthAdamWLossScaled',
};

const WG = 256;

const MOMENTS = { beta1: 'f32', beta2: 'f32', eps: 'f32' } as const;
/** Bias corrections computed on the CPU in float64 (the plain steps): decay = 1 − lr·wd, lr / bc1, 1 / sqrt(bc2). */
const CORRECTED = { decay_factor: 'f32', step_size: 'f32', inv_sqrt_bc2: 'f32' } as const;
const PACKED_BUFFERS = { param: 'read_write', grad: 'read', m: 'read_write', v: 'read_write', norm: 'read' } as const;

const TENSOR_KERNEL = defineKernel({
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
  uniforms: { n: 'u32', ...MOMENTS, ...CORRECTED },
});
const PACKED_KERNEL = defineKernel({
  name: 'adamw_multi_tensor',
  source: multiTensorSource,
  buffers: PACKED_BUFFERS,
  uniforms: { n: 'u32', decay_end: 'u32', ...MOMENTS, ...CORRECTED, max_norm: 'f32' },
});
const LOSS_SCALED_KERNEL = defineKernel({
  name: 'adamw_multi_tensor_loss_scaled',
  source: multiTensorSource,
  entryPoint: 'main_loss_scaled',
  buffers: { ...PACKED_BUFFERS, state: 'read', lr_schedule: 'read' },
  uniforms: {
    n: 'u32',
    decay_end: 'u32',
    ...MOMENTS,
    weight_decay: 'f32',
    ln_beta1: 'f32',
    ln_beta2: 'f32',
    max_norm: 'f32',
  },
});

const PARTIALS = defineKernel({
  name: 'adamw_sum_of_squares_partials',
  source: partialsSource,
  buffers: { x: 'read', partials: 'read_write' },
  uniforms: { n: 'u32', offset: 'u32' },
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

/** The operands of a step: grad, m and v as long as param; gradScale (1) for 'tensor'; norm (1) for the packed
 * steps; and the loss scaler's state and the learning-rate schedule for 'lossScaled'. */
type Operands = Record<'param' | 'grad' | 'm' | 'v', TensorInfo> &
  Partial<Record<'gradScale' | 'norm' | 'state' | 'lrSchedule', TensorInfo>>;

/** Element count n of the step's operands, after checking them and the hyperparameters its packing reads. */
function checkStep(packing: Packing, { param, grad, m, v, lrSchedule }: Operands, h: NamedAttrMap): number {
  const n = util.sizeFromShape(param.shape);
  for (const [name, t] of [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const) {
    if (util.sizeFromShape(t.shape) !== n)
      throw new Error(`adamw: ${name} has shape (${t.shape}), param (${param.shape})`);
  }
  const { step, decayEnd } = h as { step: number; decayEnd: number };
  if (packing !== 'lossScaled' && !(Number.isInteger(step) && step >= 1)) {
    throw new Error(`adamw: step must be an integer ≥ 1, got ${step}`);
  }
  if (packing !== 'tensor' && !(decayEnd >= 0 && decayEnd <= n)) {
    throw new Error(`adamw: decayEnd ${decayEnd} outside [0, ${n}]`);
  }
  if (packing === 'lossScaled' && !(lrSchedule && util.sizeFromShape(lrSchedule.shape) >= 1)) {
    throw new Error('adamw: the learning-rate schedule is empty');
  }
  return n;
}

/** The moments' uniforms, and the bias-corrected ones computed in float64 from lr and the 1-based step. */
function corrected(h: AdamWHyper) {
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  return {
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.eps,
    decay_factor: 1 - h.lr * h.weightDecay,
    step_size: h.lr / bc1,
    inv_sqrt_bc2: 1 / Math.sqrt(bc2),
  };
}

/** The max_norm uniform: 0 for no clipping (max_norm ≤ 0 or infinite). */
const maxNormUniform = (maxNorm: number) => (maxNorm > 0 && Number.isFinite(maxNorm) ? maxNorm : 0);

/** ln β as a finite f32 (β = 0 has ln β = −∞: −1e30 gives the same 1 − β^t = 1 with finite arithmetic). */
const lnBeta = (beta: number) => (beta > 0 ? Math.log(beta) : -1e30);

/** One AdamW step: 'tensor' returns the new [param, m, v]; the packed steps update param, m and v in place. */
export function adamwKernel(packing: Packing, t: Operands, attrs: NamedAttrMap): TensorInfo[] {
  const n = checkStep(packing, t, attrs);
  const { param, grad, m, v } = t;
  const workgroups = grid1d(ceilDiv(n, WG));
  if (packing === 'tensor') {
    const [paramOut, mOut, vOut] = [0, 1, 2].map(() => allocate(param.shape));
    dispatch({
      kernel: { ...TENSOR_KERNEL, consts: { WG, HAS_GRAD_SCALE: t.gradScale !== undefined } },
      // Without a scale the pipeline layout still needs a buffer there: grad again, never read.
      buffers: { param, grad, m, v, grad_scale: t.gradScale ?? grad, param_out: paramOut, m_out: mOut, v_out: vOut },
      uniforms: { n, ...corrected(attrs as unknown as AdamWHyper) },
      workgroups,
    });
    return [paramOut, mOut, vOut];
  }
  const h = attrs as unknown as MultiTensorHyper;
  const packed = { n, decay_end: h.decayEnd, max_norm: maxNormUniform(h.maxNorm) };
  if (packing === 'packed') {
    dispatch({
      kernel: { ...PACKED_KERNEL, consts: { WG } },
      buffers: { param, grad, m, v, norm: t.norm! },
      uniforms: { ...packed, ...corrected(h) },
      workgroups,
    });
  } else {
    dispatch({
      kernel: { ...LOSS_SCALED_KERNEL, consts: { WG } },
      buffers: { param, grad, m, v, norm: t.norm!, state: t.state!, lr_schedule: t.lrSchedule! },
      uniforms: {
        ...packed,
        beta1: h.beta1,
        beta2: h.beta2,
        eps: h.eps,
        weight_decay: h.weightDecay,
        ln_beta1: lnBeta(h.beta1),
        ln_beta2: lnBeta(h.beta2),
      },
      workgroups,
    });
  }
  return [];
}

/** Σ x² over all the tensors (or its square root when `sqrt`), as a scalar on the GPU. */
export function sumOfSquaresKernel(tensors: TensorInfo[], variant: SumOfSquaresVariant, sqrt = false): TensorInfo {
  const { workgroupSize, elementsPerThread, reduction } = variant;
  const workgroupReduce = reduction !== 'perThread';
  const chunkSize = workgroupSize * elementsPerThread;
  const partialsPerChunk = workgroupReduce ? 1 : workgroupSize;
  const chunks = tensors.map((t) => ceilDiv(util.sizeFromShape(t.shape), chunkSize));
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
      uniforms: { n: util.sizeFromShape(t.shape), offset },
      workgroups: grid1d(chunks[i]),
    });
    offset += chunks[i] * partialsPerChunk;
  });
  const out = sumKernel(partials, total, { name: 'adamw_sum_of_squares_final', sqrt });
  release(partials);
  return out;
}

export function clipScaleKernel(sumSq: TensorInfo, maxNorm: number): TensorInfo {
  const scale = allocate([]);
  dispatch({ kernel: CLIP_SCALE, buffers: { sum_sq: sumSq, scale }, uniforms: { max_norm: maxNorm }, workgroups: [1] });
  return scale;
}

for (const [packing, name] of Object.entries(OP_NAMES) as [Packing, string][]) {
  registerOp({
    name,
    // The packed steps work in place on the optimizer's own buffers, so they have no outputs.
    inputs: ['param', 'grad', 'm', 'v', 'gradScale', 'norm', 'state', 'lrSchedule'],
    forward: (inputs, attrs) => adamwKernel(packing, inputs as Operands, attrs),
  });
}
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
  const { lr, beta1, beta2, eps, weightDecay, step } = h;
  const inputs = { param, grad, m, v, ...(gradScale ? { gradScale } : {}) };
  const [p, mNew, vNew] = runOp<Tensor[]>(OP_NAMES.tensor, inputs, { lr, beta1, beta2, eps, weightDecay, step });
  return { param: p, m: mNew, v: vNew };
}

/**
 * One AdamW step in place over flat param, m and v (n elements each) from the flat grad, clipped by the global
 * gradient norm `norm` (a scalar on the GPU, e.g. from sumOfSquares(..., sqrt)). One dispatch for a whole model.
 */
export function adamwMultiTensor(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  norm: Tensor,
  h: MultiTensorHyper,
): void {
  const { lr, beta1, beta2, eps, weightDecay, step, decayEnd, maxNorm } = h;
  runOp(OP_NAMES.packed, { param, grad, m, v, norm }, { lr, beta1, beta2, eps, weightDecay, step, decayEnd, maxNorm });
}

/**
 * adamwMultiTensor for loss-scaled gradients, in place, from the global norm of the scaled gradients and the
 * scaler's state. lrSchedule (float32, ≥ 1 entries): the learning rate for the update after k applied updates; the
 * last holds.
 */
export function adamwLossScaled(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  norm: Tensor,
  state: Tensor,
  lrSchedule: Tensor,
  h: LossScaledHyper,
): void {
  const { beta1, beta2, eps, weightDecay, decayEnd, maxNorm } = h;
  runOp(
    OP_NAMES.lossScaled,
    { param, grad, m, v, norm, state, lrSchedule },
    { beta1, beta2, eps, weightDecay, decayEnd, maxNorm },
  );
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

/** min(1, maxNorm / (sqrt(sumSq) + 1e-6)) as a scalar tensor on the GPU. */
export function clipScale(sumSq: Tensor, maxNorm: number): Scalar {
  return runOp<Scalar>('HearthClipScale', { sumSq }, { maxNorm });
}
