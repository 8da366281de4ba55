// Dynamic loss scaling for mixed-precision training, as PyTorch's torch.amp.GradScaler: the loss's gradient is
// multiplied by a scale (2¹⁶ at first) so that small gradients survive f16, the optimizer unscales; a step whose
// gradients hold an inf or NaN is skipped and the scale halved; after growthInterval good steps in a row it doubles.
//
// The state lives on the GPU (kernels/loss_scale) and is updated there once per step, from the gradient norm the
// optimizer computes anyway, so the check never reads back inside a step. The CPU sees the state only when it asks
// (`read()`, e.g. at a logging step, beside the loss), and from a copy: tfjs keeps a CPU copy of whatever it has
// read, and this tensor changes in place.
import * as tf from '@tensorflow/tfjs-core';
import {
  STATE_WORDS,
  decodeLossScaleState,
  encodeLossScaleState,
  lossScaleUpdate,
  scaleGradientByLossScale,
  type LossScaleState,
} from '../kernels/loss_scale/index.ts';
import { allocate, copyElements } from '../kernels/runtime.ts';

export type { LossScaleState };

export interface LossScalerOptions {
  initScale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
}

/** torch.amp.GradScaler's defaults. */
export const GRAD_SCALER_DEFAULTS: LossScalerOptions = {
  initScale: 2 ** 16,
  growthFactor: 2,
  backoffFactor: 0.5,
  growthInterval: 2000,
};

/** A scaler's state before its first step; `appliedSteps` continues an optimizer's step count (a resume). */
export function initialLossScale(opts: Partial<LossScalerOptions> = {}, appliedSteps = 0): LossScaleState {
  const scale = opts.initScale ?? GRAD_SCALER_DEFAULTS.initScale;
  return { scale, invScaleUsed: 1 / scale, growthTracker: 0, foundInf: false, appliedSteps, skippedSteps: 0 };
}

function validate(o: LossScalerOptions): void {
  if (!(Number.isFinite(o.initScale) && o.initScale > 0))
    throw new Error(`loss scaler: initScale must be a positive number, got ${o.initScale}`);
  if (!(o.growthFactor > 1)) throw new Error(`loss scaler: growthFactor must be above 1, got ${o.growthFactor}`);
  if (!(o.backoffFactor > 0 && o.backoffFactor < 1))
    throw new Error(`loss scaler: backoffFactor must be in (0, 1), got ${o.backoffFactor}`);
  if (!(Number.isInteger(o.growthInterval) && o.growthInterval >= 1)) {
    throw new Error(`loss scaler: growthInterval must be an integer ≥ 1, got ${o.growthInterval}`);
  }
}

export class LossScaler {
  readonly opts: LossScalerOptions;
  private stateTensor: tf.Tensor;

  constructor(opts: Partial<LossScalerOptions> = {}, initial?: LossScaleState) {
    this.opts = { ...GRAD_SCALER_DEFAULTS, ...opts };
    validate(this.opts);
    this.stateTensor = tf.tensor1d(encodeLossScaleState(initial ?? initialLossScale(this.opts)), 'int32');
  }

  /** The state on the GPU (int32, LossScaleState's layout), for the kernels that read it. */
  get state(): tf.Tensor {
    return this.stateTensor;
  }

  /** The loss unchanged, but every gradient computed from it multiplied by the current scale. */
  scaleGradient<T extends tf.Tensor>(loss: T): T {
    return scaleGradientByLossScale(loss, this.stateTensor);
  }

  /**
   * After the backward pass, from the global norm of the scaled gradients: decides on the GPU whether this step's
   * gradients were finite (AdamW then applies or skips) and sets the next scale. Returns the unscaled norm.
   */
  update(scaledNorm: tf.Scalar): tf.Scalar {
    return lossScaleUpdate(scaledNorm, this.stateTensor, this.opts);
  }

  /** The state as it is after the work queued so far (waits for the GPU). */
  async read(): Promise<LossScaleState> {
    const copy = allocate([STATE_WORDS], 'int32');
    copyElements(this.stateTensor, 0, copy, 0, STATE_WORDS);
    const t = tf.engine().makeTensorFromTensorInfo(copy);
    const words = Int32Array.from((await t.data()) as Int32Array);
    t.dispose();
    return decodeLossScaleState(words);
  }

  /** Replaces the state (a resume). */
  load(state: LossScaleState): void {
    const next = tf.tensor1d(encodeLossScaleState(state), 'int32');
    this.stateTensor.dispose();
    this.stateTensor = next;
  }

  dispose(): void {
    this.stateTensor.dispose();
  }
}
