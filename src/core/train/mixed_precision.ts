// What a mixed-precision (fp16) training run holds besides the model and optimizer: the ops that read f16
// operands, the per-step cache of f16 weights they use, and the dynamic loss scaler. One step is
//   model.lossAndGrads(..., { ops: mp.ops })  →  optimizer.apply(grads, lr, mp.scaler, mp.lrSchedule)  →  mp.endStep()
import * as tf from '@tensorflow/tfjs-core';
import type { Ops } from '../model/ops.ts';
import { HalfWeightCache, mixedPrecisionOps } from '../model/mixed_ops.ts';
import { LossScaler, type LossScalerOptions, type LossScaleState } from './loss_scaler.ts';

export class MixedPrecision {
  readonly weights = new HalfWeightCache();
  readonly scaler: LossScaler;
  readonly ops: Ops;
  /**
   * The learning rate for the update after k applied updates, on the GPU: only the GPU knows which steps the scaler
   * skipped, and Hugging Face's Trainer does not step its scheduler on those.
   */
  lrSchedule: tf.Tensor1D | undefined;

  constructor(scalerOptions: Partial<LossScalerOptions> = {}, scalerState?: LossScaleState) {
    this.scaler = new LossScaler(scalerOptions, scalerState);
    this.ops = mixedPrecisionOps(this.weights, this.scaler);
  }

  setLearningRates(rates: Float32Array): void {
    this.lrSchedule?.dispose();
    this.lrSchedule = tf.tensor1d(rates);
  }

  /** After the optimizer's update: the weights changed, so their f16 copies go. */
  endStep(): void {
    this.weights.clear();
  }

  dispose(): void {
    this.weights.clear();
    this.scaler.dispose();
    this.lrSchedule?.dispose();
  }
}
