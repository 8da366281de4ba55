// SwiGLU's gating made only of stock tfjs ops (HF's act_fn(gate_proj(x)) * up_proj(x)): the baseline the kernel is
// benchmarked and tested against (its gradients are tfjs's autodiff).
import * as tf from '@tensorflow/tfjs-core';

export const stockSwiglu = (gate: tf.Tensor2D, up: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => tf.mul(tf.mul(gate, tf.sigmoid(gate)), up));
