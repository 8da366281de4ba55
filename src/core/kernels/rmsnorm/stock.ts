// RMSNorm made only of stock tfjs ops, as HF's LlamaRMSNorm writes it: the baseline the kernels are benchmarked and
// tested against (its gradients are tfjs's autodiff).
import * as tf from '@tensorflow/tfjs-core';

/** x·rsqrt(mean(x²) + eps)·weight over the last dim. */
export const stockRmsNorm = (x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D =>
  tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight));
