// The same causal self-attention made only of stock tfjs ops, the way a GPT-2 port usually writes it:
// split the packed qkv, move heads to a batch dimension (copies), q·kᵀ as a (B·nh, T, T) matrix, causal mask,
// softmax, ·v, then merge heads back (another copy). The baseline our kernel is benchmarked against, and the
// attention of the stock-ops GPT model.
// Its gradients are tfjs's stock ones, which initTf() registers.
import * as tf from '@tensorflow/tfjs-core';

/** qkv (B, T, 3C) packed [q | k | v] → (B, T, C), causal, heads merged as HF's _merge_heads does. */
export function stockCausalSelfAttention(qkv: tf.Tensor3D, nHead: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, C3] = qkv.shape;
    const C = C3 / 3;
    const hd = C / nHead;
    const [q, k, v] = tf.split(qkv, 3, 2); // 3 × (B, T, C)
    const toHeads = (x: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(x, [B, T, nHead, hd]), [0, 2, 1, 3]), [B * nHead, T, hd]);
    const scores = tf.mul(tf.matMul(toHeads(q), toHeads(k), false, true), 1 / Math.sqrt(hd)); // (B·nh, T, T)
    const causal = tf.cast(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), 'bool'); // lower triangle: key ≤ query
    const masked = tf.where(causal, scores, tf.fill([T, T], -1e9));
    const y = tf.matMul(tf.softmax(masked), toHeads(v)); // (B·nh, T, hd)
    return tf.reshape(tf.transpose(tf.reshape(y, [B, nHead, T, hd]), [0, 2, 1, 3]), [B, T, C]);
  });
}
