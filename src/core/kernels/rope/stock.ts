// RoPE made only of stock tfjs ops, as HF's apply_rotary_pos_emb writes it (cos/sin tables of the float32 angles,
// rotate_half by slices and a concat, partial rotary by a slice and a concat): the baseline the kernel is
// benchmarked and tested against (its gradients are tfjs's autodiff).
import * as tf from '@tensorflow/tfjs-core';
import type { RopeSpec } from './index.ts';

export function stockRope(x: tf.Tensor2D, r: RopeSpec): tf.Tensor2D {
  const { B, T, nHeads, headDim, rotaryDim, invFreq, position } = r;
  const half = rotaryDim / 2;
  const angles = new Float32Array(T * half);
  for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) angles[t * half + i] = (position + t) * invFreq[i];
  return tf.tidy(() => {
    const a = tf.tensor4d(angles, [1, T, 1, half]);
    const cos = tf.concat([tf.cos(a), tf.cos(a)], -1);
    const sin = tf.concat([tf.sin(a), tf.sin(a)], -1);
    const xs = tf.reshape(x, [B, T, nHeads, headDim]);
    const rot = tf.slice(xs, [0, 0, 0, 0], [-1, -1, -1, rotaryDim]);
    const x1 = tf.slice(rot, [0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = tf.slice(rot, [0, 0, 0, half], [-1, -1, -1, half]);
    let y = tf.add(tf.mul(rot, cos), tf.mul(tf.concat([tf.neg(x2), x1], -1), sin));
    if (rotaryDim < headDim) y = tf.concat([y, tf.slice(xs, [0, 0, 0, rotaryDim], [-1, -1, -1, -1])], -1);
    return tf.reshape(y, [B * T, nHeads * headDim]);
  });
}
