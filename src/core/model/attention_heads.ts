// Grouped-query attention on an attention op over full heads: until a kernel reads shared key/value heads itself,
// each of the K key and value heads is repeated H/K times (Hugging Face's repeat_kv), which gives the same scores.
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionDropout, AttentionHeads } from './ops.ts';

/** How scores are formed beyond the heads: AttentionHeads' scaled and window. */
export type AttentionScores = Pick<AttentionHeads, 'scaled' | 'window'>;

/** Multi-head attention over qkv (B, T, 3·H·D) packed [q | k | v], as the attention kernels take it. */
export type MultiHeadAttention = (
  qkv: tf.Tensor3D,
  nHead: number,
  dropout?: AttentionDropout,
  scores?: AttentionScores,
  /** packed rows (B·T): each token's position within its sequence, which it attends within */
  positionIds?: Int32Array,
) => tf.Tensor3D;

/** Throws unless qkv's last dimension is (H + 2K)·D and K divides H. */
function checkHeads(qkv: tf.Tensor3D, { nHead, nKvHead, headDim }: AttentionHeads): void {
  if (!(nKvHead >= 1) || nHead % nKvHead !== 0)
    throw new Error(`attention: ${nKvHead} key/value heads do not divide ${nHead} query heads`);
  const width = (nHead + 2 * nKvHead) * headDim;
  if (qkv.shape.length !== 3 || qkv.shape[2] !== width) {
    throw new Error(
      `attention: qkv has shape [${qkv.shape}], expected (B, T, ${width}) for ${nHead} query and ${nKvHead} key/value heads of ${headDim}`,
    );
  }
}

/**
 * qkv (B, T, (H + 2K)·D) → (B, T, 3·H·D): query head h reads key and value head ⌊h / (H/K)⌋, as repeat_kv expands
 * them. qkv itself when K = H.
 */
function repeatKv(qkv: tf.Tensor3D, heads: AttentionHeads): tf.Tensor3D {
  checkHeads(qkv, heads);
  const { nHead: H, nKvHead: K, headDim: D } = heads;
  if (K === H) return qkv;
  return tf.tidy(() => {
    const [B, T] = qkv.shape;
    const [q, k, v] = tf.split(qkv, [H * D, K * D, K * D], 2);
    const group = tf.tensor1d(
      Array.from({ length: H }, (_, h) => Math.floor(h / (H / K))),
      'int32',
    );
    const expand = (x: tf.Tensor) => tf.reshape(tf.gather(tf.reshape(x, [B * T, K, D]), group, 1), [B, T, H * D]);
    return tf.concat([q, expand(k), expand(v)], 2) as tf.Tensor3D;
  });
}

/** An Ops.attention over any AttentionHeads from a multi-head one; K = H runs it on qkv as it is. */
export const groupedAttention =
  (mha: MultiHeadAttention) =>
  (qkv: tf.Tensor3D, heads: AttentionHeads, dropout?: AttentionDropout, positionIds?: Int32Array): tf.Tensor3D => {
    const scores = { scaled: heads.scaled, window: heads.window };
    if (heads.nKvHead === heads.nHead) {
      checkHeads(qkv, heads);
      return mha(qkv, heads.nHead, dropout, scores, positionIds);
    }
    return tf.tidy(() => mha(repeatKv(qkv, heads), heads.nHead, dropout, scores, positionIds));
  };
