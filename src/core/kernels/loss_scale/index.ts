// Dynamic loss scaling's kernels (mixed precision). The scaler's whole state lives on the GPU in one small int32
// tensor laid out as shaders/loss_scale_update.wgsl's LossScaleState, so a training step never reads it back:
//   lossScaleUpdateKernel: once per step, after the gradient norm: found_inf, skip count, the next scale
//   HearthLossScaleGradient: identity forward; its gradient is dy·scale, so placed on the loss it scales every
//                            gradient behind it while the loss itself (what is logged) stays unscaled
// The AdamW step that consults found_inf is adamw/index.ts's adamwLossScaled.
import { util, type Scalar, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import updateSource from '../../../../shaders/loss_scale_update.wgsl?raw';
import gradientSource from '../../../../shaders/loss_scale_gradient.wgsl?raw';
import { allocate, copyElements, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

const UPDATE = defineKernel({
  name: 'loss_scale_update',
  source: updateSource,
  buffers: { norm: 'read', state: 'read_write', unscaled_norm: 'read_write' },
  uniforms: { growth_factor: 'f32', backoff_factor: 'f32', growth_interval: 'u32' },
});
const GRADIENT = defineKernel({
  name: 'loss_scale_gradient',
  source: gradientSource,
  buffers: { x: 'read', state: 'read', y: 'read_write' },
  uniforms: { n: 'u32' },
});

/** The scaler's state as plain numbers (the CPU's view of LossScaleState). */
export interface LossScaleState {
  /** what the next backward pass multiplies the loss's gradient by */
  scale: number;
  /** 1 / the scale the last step's gradients carried */
  invScaleUsed: number;
  /** steps without overflow since the scale last changed */
  growthTracker: number;
  /** whether the last step's gradients held an inf or NaN (its update was skipped) */
  foundInf: boolean;
  /** AdamW updates applied (its bias-correction step t); skipped steps are not counted */
  appliedSteps: number;
  /** steps skipped for overflow, in all */
  skippedSteps: number;
}

/** int32 words of LossScaleState (6 fields and 2 reserved, 32 bytes). */
export const STATE_WORDS = 8;

export function encodeLossScaleState(s: LossScaleState): Int32Array {
  const words = new Int32Array(STATE_WORDS);
  const floats = new Float32Array(words.buffer);
  floats[0] = s.scale;
  floats[1] = s.invScaleUsed;
  words[2] = s.growthTracker;
  words[3] = s.foundInf ? 1 : 0;
  words[4] = s.appliedSteps;
  words[5] = s.skippedSteps;
  return words;
}

export function decodeLossScaleState(words: Int32Array): LossScaleState {
  const floats = new Float32Array(words.buffer, words.byteOffset, STATE_WORDS);
  return {
    scale: floats[0],
    invScaleUsed: floats[1],
    growthTracker: words[2] >>> 0,
    foundInf: words[3] !== 0,
    appliedSteps: words[4] >>> 0,
    skippedSteps: words[5] >>> 0,
  };
}

export interface LossScaleUpdateOptions {
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
}

const checkState = (state: TensorInfo) => {
  if (state.dtype !== 'int32' || state.shape.length !== 1 || state.shape[0] !== STATE_WORDS) {
    throw new Error(
      `loss scale: the state must be an int32 tensor of ${STATE_WORDS} words, got ${state.dtype} [${state.shape}]`,
    );
  }
};

/** Updates `state` in place from the global norm of the scaled gradients; returns that norm unscaled (a scalar). */
export function lossScaleUpdateKernel(norm: TensorInfo, state: TensorInfo, o: LossScaleUpdateOptions): TensorInfo {
  checkState(state);
  if (!(Number.isInteger(o.growthInterval) && o.growthInterval >= 1)) {
    throw new Error(`loss scale: growth interval must be an integer ≥ 1, got ${o.growthInterval}`);
  }
  const unscaled = allocate([]);
  dispatch({
    kernel: UPDATE,
    buffers: { norm, state, unscaled_norm: unscaled },
    uniforms: { growth_factor: o.growthFactor, backoff_factor: o.backoffFactor, growth_interval: o.growthInterval },
    workgroups: [1],
  });
  return unscaled;
}

const WG = 256;

/** x · scale (a new tensor). */
export function multiplyByLossScaleKernel(x: TensorInfo, state: TensorInfo): TensorInfo {
  checkState(state);
  const n = util.sizeFromShape(x.shape);
  const y = allocate(x.shape);
  dispatch({
    kernel: { ...GRADIENT, consts: { WG } },
    buffers: { x, state, y },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return y;
}

registerOp({
  name: 'HearthLossScaleUpdate',
  inputs: ['norm', 'state'],
  forward: ({ norm, state }, attrs) => lossScaleUpdateKernel(norm, state, attrs as unknown as LossScaleUpdateOptions),
});
registerOp({
  name: 'HearthMultiplyByLossScale',
  inputs: ['x', 'state'],
  forward: ({ x, state }) => multiplyByLossScaleKernel(x, state),
});
registerOp({
  name: 'HearthLossScaleGradient',
  inputs: ['x', 'state'],
  forward: ({ x }) => {
    const y = allocate(x.shape);
    copyElements(x, 0, y, 0, util.sizeFromShape(x.shape));
    return y;
  },
  gradient: {
    inputsToSave: ['state'],
    // state is the scaler's, never a function of the parameters, so tfjs never asks for its gradient.
    grad: (dy, [state]) => ({ x: () => runOp('HearthMultiplyByLossScale', { x: dy as Tensor, state }) }),
  },
});

/** lossScaleUpdateKernel as a tfjs operation: updates `state` in place, returns the unscaled norm. */
export function lossScaleUpdate(norm: Tensor, state: Tensor, o: LossScaleUpdateOptions): Scalar {
  const { growthFactor, backoffFactor, growthInterval } = o;
  return runOp<Scalar>('HearthLossScaleUpdate', { norm, state }, { growthFactor, backoffFactor, growthInterval });
}

/** x unchanged, but its gradient (and every gradient behind it) multiplied by the loss scale held in `state`. */
export function scaleGradientByLossScale<T extends Tensor>(x: T, state: Tensor): T {
  return runOp<T>('HearthLossScaleGradient', { x, state });
}
