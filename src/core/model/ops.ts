// The handful of operations a model's forward pass is made of. Two implementations share this interface:
// Hearth's own WGSL kernels (kernel_ops.ts) and stock tfjs ops (stock_ops.ts). The model is written once
// against it, so the two can be compared for correctness (same loss and gradients) and for speed.
import type { Scalar, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import type { AttentionDropout } from '../kernels/attention/index.ts';
import type { RopeSpec } from '../kernels/rope/index.ts';
import type { HalfWeight, LinearOptions } from '../kernels/lora/index.ts';

export type { AttentionDropout };

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  bias?: Tensor1D;
  /** 'gelu': GPT-2's gelu_new (tanh approximation); 'gelu_exact': the exact erf GELU (GPT-NeoX) */
  activation?: 'none' | 'gelu' | 'gelu_exact';
}

/** A block's attention heads: qkv packs H query heads, then K key heads, then K value heads, each headDim wide. */
export interface AttentionHeads {
  nHead: number;
  /** K, dividing nHead: nHead / nKvHead query heads share each key and value head (grouped-query attention) */
  nKvHead: number;
  headDim: number;
  /** false: scores q·k without the 1/√headDim (GPT-Neo); scaled when absent */
  scaled?: boolean;
  /**
   * A local window: query i sees keys j with i − window < j ≤ i only, its own position and the window − 1 before it
   * (GPT-Neo's local layers' window_size; Mistral's and Qwen2's sliding_window, as transformers' masking_utils
   * sliding_window_overlay, kv_idx > q_idx − sliding_window); the whole causal row when absent.
   */
  window?: number;
}

export type { RopeSpec };

export interface Ops {
  name: string;
  /** op(a)·op(b) [+ bias] [then gelu_new or the exact GELU] */
  matmul(a: Tensor2D, b: Tensor2D, opts?: MatmulOptions): Tensor2D;
  /** over the last dim of x (M, C) */
  layerNorm(x: Tensor2D, weight: Tensor1D, bias: Tensor1D, eps: number): Tensor2D;
  /** [s, layerNorm(s)] with s = x + residual, fused; without it the model adds, then normalises */
  addLayerNorm?(x: Tensor2D, residual: Tensor2D, weight: Tensor1D, bias: Tensor1D, eps: number): [Tensor2D, Tensor2D];
  /** x·rsqrt(mean(x²) + eps)·weight over the last dim of x (M, C) */
  rmsNorm(x: Tensor2D, weight: Tensor1D, eps: number): Tensor2D;
  /** [s, rmsNorm(s)] with s = x + residual, fused; without it the model adds, then normalises */
  addRmsNorm?(x: Tensor2D, residual: Tensor2D, weight: Tensor1D, eps: number): [Tensor2D, Tensor2D];
  /** x (B·T, nHeads·headDim) with rotary position embedding applied (RopeSpec) */
  rope(x: Tensor2D, r: RopeSpec): Tensor2D;
  /** gelu_new(x) elementwise, or with `exact` the exact GELU: after a linear layer whose output is a sum (a LoRA
   * adapter's), where the matmul cannot fuse it; without it the model uses stock tfjs ops */
  gelu?(x: Tensor2D, exact?: boolean): Tensor2D;
  /**
   * A linear layer in one op (kernels/lora): x·op(W) (+ bias) (+ s·dropout(x)·Aᵀ·Bᵀ, its LoRA adapter, fused into the
   * product's epilogue) (then GELU), W f32 or a frozen weight held in f16 (LoRA's halfBase). Without it the model
   * runs an adapter as separate products and an add, and cannot read an f16 base.
   */
  linear?(x: Tensor2D, w: Tensor2D | HalfWeight, o: LinearOptions): Tensor2D;
  /** silu(gate)·up, elementwise */
  swiglu(gate: Tensor2D, up: Tensor2D): Tensor2D;
  /** qkv (B, T, (H + 2K)·D) packed [q | k | v] (GPT-2's c_attn packs just so, K = H) → (B, T, H·D), causal (within
   * heads.window when given), scaled by 1/√D unless heads.scaled is false; with `dropout`, attn_pdrop on the
   * probabilities (mask of score (i, j) of head (b, h) hashed from (seed, b·nHead + h, i·T + j), as
   * kernels/dropout/seeds.ts); with `positionIds` (B·T), packed rows: query t sees keys from t − positionIds[t] on
   * only, its own sequence (flash-attention's varlen) */
  attention(qkv: Tensor3D, heads: AttentionHeads, dropout?: AttentionDropout, positionIds?: Int32Array): Tensor3D;
  /** inverted dropout of x (M, C): element (m, c) kept, times 1/(1 − p), when the hash of (seed, m, c) says so */
  dropout(x: Tensor2D, p: number, seed: number): Tensor2D;
  /** per-row −log softmax(logits)[target], 0 where target is IGNORE_INDEX (−100); logits (M, V), targets int32 (M) */
  crossEntropy(logits: Tensor2D, targets: Tensor1D): Tensor1D;
  /** Σ crossEntropy / count, fused; without it the model sums and divides */
  crossEntropyMean?(logits: Tensor2D, targets: Tensor1D, count: number): Scalar;
  /** wte[tokens[b·T + t]] (+ wpe[position + t] when given) → (B, T, C); position is the first token's (0 unless
   * decoding); with `positionIds` (B·T, packed rows), wpe[positionIds[b·T + t]] instead */
  embedding(
    tokens: Int32Array,
    B: number,
    T: number,
    wte: Tensor2D,
    wpe?: Tensor2D,
    position?: number,
    positionIds?: Int32Array,
  ): Tensor3D;
}
