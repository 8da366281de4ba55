// Mixed-precision causal self-attention: index.ts's kernels with `half` set, reading q, k, v (and, backward, dO)
// in f16, packed two per u32, with every score, softmax, sum and output in f32: the same shaders with their qkv
// and dout regions replaced by shaders/attention_qkv_f16.wgsl and attention_dout_f16.wgsl.
//
// As for the matmul (matmul/half.ts), tensors stay float32 at the op's boundary and the op casts its operands:
// qkv once per pass (forward, backward) and dout once, into scratch released as soon as the kernels are recorded.
// The kernels read every K/V row once per block of query rows (ceil(T / 32) times), so halving those bytes
// outweighs the one cast pass. The backward's first pass, delta = rowsum(dO ∘ O) − dlse, reads f32 O and dO once
// each: it is attention_backward_delta.wgsl unchanged.
import type { Tensor, Tensor3D } from '@tensorflow/tfjs-core';
import { runOp } from '../op.ts';
import {
  attentionAttrs,
  attentionBackwardKernel,
  attentionForwardKernel,
  registerAttentionOps,
  type AttentionBlocks,
  type AttentionDropout,
} from './index.ts';

registerAttentionOps(
  'HearthCausalSelfAttentionHalf',
  (qkv, nHead, blocks, dropout) => attentionForwardKernel(qkv, nHead, blocks, true, dropout),
  (qkv, out, lse, dout, dlse, nHead, blocks, dropout) =>
    attentionBackwardKernel(qkv, out, lse, dout, dlse, nHead, blocks, true, dropout),
);

/**
 * The f16-operand op with both outputs, optionally with a non-default cut of the work (tests run every variant) and
 * dropout.
 */
export function causalSelfAttentionHalfWithLse(
  qkv: Tensor3D,
  nHead: number,
  blocks?: AttentionBlocks,
  dropout?: AttentionDropout,
): { out: Tensor3D; lse: Tensor3D } {
  const [out, lse] = runOp<Tensor[]>('HearthCausalSelfAttentionHalf', { qkv }, attentionAttrs(nHead, blocks, dropout));
  return { out: out as Tensor3D, lse: lse as Tensor3D };
}

/** GPT-2's attention core (as causalSelfAttention in index.ts) reading q, k, v and dO in f16. */
export function causalSelfAttentionHalf(qkv: Tensor3D, nHead: number, dropout?: AttentionDropout): Tensor3D {
  const { out, lse } = causalSelfAttentionHalfWithLse(qkv, nHead, undefined, dropout);
  lse.dispose();
  return out;
}
