// The handful of operations a model's forward pass is made of. Two implementations share this interface:
// Hearth's own WGSL kernels (kernel_ops.ts) and stock tfjs ops (stock_ops.ts). The model is written once
// against it, so the two can be compared for correctness (same loss and gradients) and for speed.
import type { Scalar, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import type { AttentionDropout } from '../kernels/attention/index.ts';

export type { AttentionDropout };

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  bias?: Tensor1D;
  activation?: 'none' | 'gelu';
}

export interface Ops {
  name: string;
  /** op(a)·op(b) [+ bias] [then gelu_new] */
  matmul(a: Tensor2D, b: Tensor2D, opts?: MatmulOptions): Tensor2D;
  /** over the last dim of x (M, C) */
  layerNorm(x: Tensor2D, weight: Tensor1D, bias: Tensor1D, eps: number): Tensor2D;
  /** [s, layerNorm(s)] with s = x + residual, fused; without it the model adds, then normalises */
  addLayerNorm?(x: Tensor2D, residual: Tensor2D, weight: Tensor1D, bias: Tensor1D, eps: number): [Tensor2D, Tensor2D];
  /** qkv (B, T, 3C) packed as c_attn gives it → (B, T, C), causal; with `dropout`, attn_pdrop on the probabilities
   * (mask of score (i, j) of head (b, h) hashed from (seed, b·nHead + h, i·T + j), as kernels/dropout/seeds.ts) */
  attention(qkv: Tensor3D, nHead: number, dropout?: AttentionDropout): Tensor3D;
  /** inverted dropout of x (M, C): element (m, c) kept, times 1/(1 − p), when the hash of (seed, m, c) says so */
  dropout(x: Tensor2D, p: number, seed: number): Tensor2D;
  /** per-row −log softmax(logits)[target], 0 where target is IGNORE_INDEX (−100); logits (M, V), targets int32 (M) */
  crossEntropy(logits: Tensor2D, targets: Tensor1D): Tensor1D;
  /** Σ crossEntropy / count, fused; without it the model sums and divides */
  crossEntropyMean?(logits: Tensor2D, targets: Tensor1D, count: number): Scalar;
  /** wte[tokens[b·T + t]] + wpe[position + t] → (B, T, C); position is the first token's (0 unless decoding) */
  embedding(tokens: Int32Array, B: number, T: number, wte: Tensor2D, wpe: Tensor2D, position?: number): Tensor3D;
}
