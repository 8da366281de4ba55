// The packed AdamW step (index.ts's adamwMultiTensor) for loss-scaled gradients: it unscales them by the scale they
// carry, clips on the unscaled norm, and skips the whole update when the loss scaler found an inf or NaN
// (shaders/adamw_multi_tensor.wgsl's main_loss_scaled). Everything it needs from the step (skip, scale, its step
// count t) is read from the scaler's state on the GPU, and so is the learning rate: from a schedule indexed by
// applied steps.
import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import source from '../../../../shaders/adamw_multi_tensor.wgsl?raw';
import { dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { checkPackedOperands, maxNormUniform, type AdamWHyper } from './index.ts';

const WG = 256;
const LOSS_SCALED = defineKernel({
  name: 'adamw_multi_tensor_loss_scaled',
  source,
  entryPoint: 'main_loss_scaled',
  buffers: {
    param: 'read_write',
    grad: 'read',
    m: 'read_write',
    v: 'read_write',
    norm: 'read',
    state: 'read',
    lr_schedule: 'read',
  },
  uniforms: {
    n: 'u32',
    decay_end: 'u32',
    beta1: 'f32',
    beta2: 'f32',
    eps: 'f32',
    weight_decay: 'f32',
    ln_beta1: 'f32',
    ln_beta2: 'f32',
    max_norm: 'f32',
  },
});
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** AdamW's hyperparameters less the step and the learning rate, which come from the scaler's state. */
export interface LossScaledHyper extends Omit<AdamWHyper, 'step' | 'lr'> {
  /** elements below this index take weight decay, the rest do not */
  decayEnd: number;
  /** clip the unscaled gradient to this global norm; 0 for no clipping */
  maxNorm: number;
}

/** ln β as a finite f32 (β = 0 has ln β = −∞: −1e30 gives the same 1 − β^t = 1 with finite arithmetic). */
const lnBeta = (beta: number) => (beta > 0 ? Math.log(beta) : -1e30);

/**
 * In place over flat param, m, v (n each) from the flat scaled grad, its global norm and the scaler's state.
 * lrSchedule (float32, ≥ 1 entries): the learning rate for the update after k applied updates; the last holds.
 */
export function adamwLossScaledKernel(
  param: TensorInfo,
  grad: TensorInfo,
  m: TensorInfo,
  v: TensorInfo,
  norm: TensorInfo,
  state: TensorInfo,
  lrSchedule: TensorInfo,
  h: LossScaledHyper,
): void {
  const n = checkPackedOperands(param, grad, m, v, h.decayEnd);
  if (size(lrSchedule.shape) < 1) throw new Error('adamw: the learning-rate schedule is empty');
  dispatch({
    kernel: { ...LOSS_SCALED, consts: { WG } },
    buffers: { param, grad, m, v, norm, state, lr_schedule: lrSchedule },
    uniforms: {
      n,
      decay_end: h.decayEnd,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      weight_decay: h.weightDecay,
      ln_beta1: lnBeta(h.beta1),
      ln_beta2: lnBeta(h.beta2),
      max_norm: maxNormUniform(h.maxNorm),
    },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
}

registerOp({
  name: 'HearthAdamWLossScaled',
  inputs: ['param', 'grad', 'm', 'v', 'norm', 'state', 'lrSchedule'],
  forward: ({ param, grad, m, v, norm, state, lrSchedule }, attrs) => {
    adamwLossScaledKernel(param, grad, m, v, norm, state, lrSchedule, attrs as unknown as LossScaledHyper);
    return [];
  },
});

/** adamwLossScaledKernel as a tfjs operation (so profiles see it); updates param, m and v in place. */
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
    'HearthAdamWLossScaled',
    { param, grad, m, v, norm, state, lrSchedule },
    { beta1, beta2, eps, weightDecay, decayEnd, maxNorm },
  );
}
