// RoPE made only of stock tfjs ops, as HF's apply_rotary_pos_emb writes it (cos/sin tables of the float32 angles,
// rotate_half by slices and a concat, partial rotary by a slice and a concat): the baseline the kernel is
// benchmarked and tested against (its gradients are tfjs's autodiff), and the stock op set's RoPE. The tables are
// made on the CPU: WGSL's sin and cos, which tf.cos runs on, are off by about 2e-4 on some devices.
import * as tf from '@tensorflow/tfjs-core';
import type { RopeSpec } from './index.ts';

export function stockRope(x: tf.Tensor2D, r: RopeSpec): tf.Tensor2D {
  const { B, T, nHeads, headDim, rotaryDim, invFreq, position, positions } = r;
  const half = rotaryDim / 2;
  if (x.shape[0] !== B * T || x.shape[1] !== nHeads * headDim || invFreq.length !== half || rotaryDim > headDim) {
    throw new Error(`rope: x [${x.shape}] is not (${B}·${T}, ${nHeads}·${headDim}) with ${half} frequencies`);
  }
  // One table row per position of the block, or per token with packed rows (each token its own position).
  const rows = positions ? B * T : T;
  const cosTable = new Float32Array(rows * rotaryDim);
  const sinTable = new Float32Array(rows * rotaryDim);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround((positions ? positions[t] : position + t) * invFreq[i]);
      cosTable[t * rotaryDim + i] = cosTable[t * rotaryDim + half + i] = Math.cos(angle);
      sinTable[t * rotaryDim + i] = sinTable[t * rotaryDim + half + i] = Math.sin(angle);
    }
  }
  return tf.tidy(() => {
    const cos = tf.tensor4d(cosTable, [rows / T, T, 1, rotaryDim]);
    const sin = tf.tensor4d(sinTable, [rows / T, T, 1, rotaryDim]);
    const xs = tf.reshape(x, [B, T, nHeads, headDim]);
    const rot = tf.slice(xs, [0, 0, 0, 0], [-1, -1, -1, rotaryDim]);
    const x1 = tf.slice(rot, [0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = tf.slice(rot, [0, 0, 0, half], [-1, -1, -1, half]);
    let y = tf.add(tf.mul(rot, cos), tf.mul(tf.concat([tf.neg(x2), x1], -1), sin));
    if (rotaryDim < headDim) y = tf.concat([y, tf.slice(xs, [0, 0, 0, rotaryDim], [-1, -1, -1, -1])], -1);
    return tf.reshape(y, [B * T, nHeads * headDim]);
  });
}
