// The model's operations in mixed precision (Hugging Face's fp16, PyTorch's autocast + GradScaler): the matmuls and
// the attention core read their operands in f16 and accumulate in f32; everything else (LayerNorm, GELU's
// backward, residual adds, cross-entropy, the optimizer) stays f32, and so do the master weights.
//
// Casts. Weights are cast to f16 once per training step: HalfWeightCache keeps one packed copy per weight
// (variable), made on the first matmul that reads it and reused by the backward products and, with gradient
// accumulation, by every micro-batch; the trainer clears it after each update. Activations and gradients are
// cast by each op just before its kernels (see kernels/matmul/index.ts for why tensors stay f32 between ops).
//
// Loss scaling enters at the loss: the cross-entropy's result passes through an op whose gradient multiplies by
// the scaler's current scale, so every gradient behind it carries the scale (that is where f16 would underflow)
// while the loss value, which the trainer logs, is unchanged.
import * as tf from '@tensorflow/tfjs-core';
import type { Ops } from './ops.ts';
import { kernelOps } from './kernel_ops.ts';
import { groupedAttention } from './attention_heads.ts';
import { matmul } from '../kernels/matmul/index.ts';
import { causalSelfAttention } from '../kernels/attention/index.ts';
import { castToHalfUntracked } from '../kernels/half/index.ts';

/** Packed f16 copies of the weights, each made once per version of the weight's data. */
export class HalfWeightCache {
  private readonly entries = new Map<tf.Variable, { dataId: object; half: tf.Tensor }>();

  /** w's f16 copy when w is a variable (a weight); undefined for anything else (the op then casts it itself). */
  get(w: tf.Tensor): tf.Tensor | undefined {
    if (!(w instanceof tf.Variable)) return undefined;
    const entry = this.entries.get(w);
    if (entry && entry.dataId === w.dataId) return entry.half;
    entry?.half.dispose();
    // Off the tape (tfjs must not differentiate through the cast) and kept out of any tidy around the forward.
    const half = tf.keep(castToHalfUntracked(w));
    this.entries.set(w, { dataId: w.dataId, half });
    return half;
  }

  /** How many weights have a copy now. */
  get size(): number {
    return this.entries.size;
  }

  /** Releases every copy: after an update they are stale. */
  clear(): void {
    for (const e of this.entries.values()) e.half.dispose();
    this.entries.clear();
  }
}

export interface GradientScaler {
  scaleGradient<T extends tf.Tensor>(loss: T): T;
}

/**
 * kernelOps with f16-operand matmul and attention; with a scaler, the loss's gradient carries its scale. Dropout
 * passes through unchanged: attention dropout runs inside the f16 attention kernels (the same masks as f32), and
 * the elementwise dropout is kernelOps' f32 one.
 */
export function mixedPrecisionOps(weights: HalfWeightCache, scaler?: GradientScaler): Ops {
  const scaled = <T extends tf.Tensor>(loss: T): T => (scaler ? scaler.scaleGradient(loss) : loss);
  const mean = kernelOps.crossEntropyMean;
  return {
    ...kernelOps,
    name: 'hearth kernels, f16 operands',
    matmul: (a, b, opts = {}) => matmul(a, b, { ...opts, half: true, bHalf: weights.get(b) }),
    attention: groupedAttention((qkv, nHead, dropout, scores, positionIds) =>
      causalSelfAttention(qkv, nHead, dropout, { ...scores, half: true }, positionIds),
    ),
    crossEntropy: (logits, targets) => scaled(kernelOps.crossEntropy(logits, targets)),
    crossEntropyMean: mean && ((logits, targets, count) => scaled(mean(logits, targets, count))),
  };
}
