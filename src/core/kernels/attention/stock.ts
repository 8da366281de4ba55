// The same causal self-attention made only of stock tfjs ops, the way a GPT-2 port usually writes it:
// split the packed qkv, move heads to a batch dimension (copies), q·kᵀ as a (B·nh, T, T) matrix, causal mask,
// softmax, ·v, then merge heads back (another copy). The baseline our kernel is benchmarked against, and the
// attention of the stock-ops GPT model.
// Its gradients are tfjs's stock ones, which initTf() registers. With dropout, the mask is made by our dropout op
// (on ones, so it is the very mask the flash kernels hash) and applied with a stock multiply.
import * as tf from '@tensorflow/tfjs-core';
import { dropout as dropoutOp } from '../dropout/index.ts';
import type { AttentionDropout, AttentionOptions } from './index.ts';

/** Which keys each query sees, (B, 1, T, T) for packed rows: key j of row b for query i when
 * i − positions[b·T + i] ≤ j ≤ i (its own sequence), and within the window when there is one. */
function packedMask(positions: Int32Array, B: number, T: number, window?: number): tf.Tensor4D {
  const mask = new Uint8Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const first = Math.max(i - positions[b * T + i], window === undefined ? 0 : i - window + 1);
      for (let j = Math.max(first, 0); j <= i; j++) mask[(b * T + i) * T + j] = 1;
    }
  }
  return tf.tensor4d(mask, [B, 1, T, T], 'bool');
}

/** qkv (B, T, 3C) packed [q | k | v] → (B, T, C), causal, heads merged as HF's _merge_heads does; `scaled` and `window`
 * as the kernels' AttentionOptions (false: no 1/√hd; query i sees keys j with i − window < j ≤ i only); `positions`
 * (B·T) as the kernels' packed rows (query i sees keys from i − positions[i] on only). */
export function stockCausalSelfAttention(
  qkv: tf.Tensor3D,
  nHead: number,
  dropout?: AttentionDropout,
  { scaled = true, window }: Pick<AttentionOptions, 'scaled' | 'window'> = {},
  positions?: Int32Array,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, C3] = qkv.shape;
    const C = C3 / 3;
    const hd = C / nHead;
    const [q, k, v] = tf.split(qkv, 3, 2); // 3 × (B, T, C)
    const toHeads = (x: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(x, [B, T, nHead, hd]), [0, 2, 1, 3]), [B * nHead, T, hd]);
    const scale = scaled ? 1 / Math.sqrt(hd) : 1;
    const scores = tf.mul(tf.matMul(toHeads(q), toHeads(k), false, true), scale); // (B·nh, T, T)
    // lower triangle, key ≤ query; with a window, the band query − window < key ≤ query
    const below = window === undefined ? -1 : Math.min(window, T) - 1;
    let masked: tf.Tensor;
    if (positions) {
      // (B, nh, T, T) against each row's own mask
      const perRow = tf.reshape(scores, [B, nHead, T, T]);
      const mask = packedMask(positions, B, T, window);
      masked = tf.reshape(tf.where(mask, perRow, tf.fill([B, 1, T, T], -1e9)), [B * nHead, T, T]);
    } else {
      const causal = tf.cast(tf.linalg.bandPart(tf.ones([T, T]), below, 0), 'bool');
      masked = tf.where(causal, scores, tf.fill([T, T], -1e9));
    }
    let probs = tf.softmax(masked); // (B·nh, T, T)
    // Rows of T·T elements: the mask of (b, h, i, j) is keyed by (b·nh + h, i·T + j), as in the kernels.
    if (dropout && dropout.p > 0)
      probs = tf.mul(probs, dropoutOp(tf.ones([B * nHead, T, T]), dropout.p, dropout.seed, T * T));
    const y = tf.matMul(probs, toHeads(v)); // (B·nh, T, hd)
    return tf.reshape(tf.transpose(tf.reshape(y, [B, nHead, T, hd]), [0, 2, 1, 3]), [B, T, C]);
  });
}
