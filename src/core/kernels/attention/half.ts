// Mixed-precision causal self-attention: the flash-style kernels of index.ts reading q, k, v (and, backward, dO)
// in f16, packed two per u32, with every score, softmax, sum and output in f32: the same shaders with their qkv
// and dout regions replaced by shaders/attention_qkv_f16.wgsl and attention_dout_f16.wgsl.
//
// As for the matmul (matmul/half.ts), tensors stay float32 at the op's boundary and the op casts its operands:
// qkv once per pass (forward, backward) and dout once, into scratch released as soon as the kernels are recorded.
// The kernels read every K/V row once per block of query rows (ceil(T / 32) times), so halving those bytes
// outweighs the one cast pass. The backward's first pass, delta = rowsum(dO ∘ O) − dlse, reads f32 O and dO once
// each: it is attention_backward_delta.wgsl unchanged.
import type { Tensor, Tensor3D, TensorInfo, NamedAttrMap } from '@tensorflow/tfjs-core';
import forwardSource from '../../../../shaders/attention_forward.wgsl?raw';
import deltaSource from '../../../../shaders/attention_backward_delta.wgsl?raw';
import dqSource from '../../../../shaders/attention_backward_dq.wgsl?raw';
import dkvSource from '../../../../shaders/attention_backward_dkv.wgsl?raw';
import qkvHalfRegion from '../../../../shaders/attention_qkv_f16.wgsl?raw';
import doutHalfRegion from '../../../../shaders/attention_dout_f16.wgsl?raw';
import { allocate, release, dispatch, grid1d, ceilDiv } from '../runtime.ts';
import { runOp } from '../op.ts';
import { castToHalfKernel } from '../half/index.ts';
import { defaultBlocks, dimsOf, consts as attentionConsts, registerAttentionOps, type AttentionBlocks } from './index.ts';

/** out (B, T, C) and lse (B, nh, T), f32, from qkv (B, T, 3C) read in f16. */
export function attentionForwardHalfKernel(qkv: TensorInfo, nHead: number, blocks?: AttentionBlocks): TensorInfo[] {
  const dims = dimsOf(qkv, nHead);
  const { B, T, C } = dims;
  const bl = blocks ?? defaultBlocks(dims.hd);
  const out = allocate([B, T, C]);
  const lse = allocate([B, nHead, T]);
  const qkvHalf = castToHalfKernel(qkv);
  dispatch({
    kernel: {
      name: 'attention_forward_f16',
      source: forwardSource,
      regions: { qkv: qkvHalfRegion },
      consts: attentionConsts(dims, bl),
    },
    buffers: [qkvHalf, out, lse],
    uniforms: [{ u32: T }, { u32: nHead }],
    workgroups: [ceilDiv(T, bl.rows), B * nHead],
  });
  release(qkvHalf);
  return [out, lse];
}

/** dqkv (B, T, 3C), f32: delta from f32 out and dout, then dQ and dK/dV reading qkv and dout in f16. */
export function attentionBackwardHalfKernel(
  qkv: TensorInfo,
  out: TensorInfo,
  lse: TensorInfo,
  dout: TensorInfo,
  dlse: TensorInfo,
  nHead: number,
  blocks?: AttentionBlocks,
): TensorInfo {
  const dims = dimsOf(qkv, nHead);
  const { B, T, C } = dims;
  const bl = blocks ?? defaultBlocks(dims.hd);
  const rowCount = B * nHead * T;
  const delta = allocate([B, nHead, T]);
  dispatch({
    kernel: { name: 'attention_backward_delta', source: deltaSource, consts: { HD: dims.hd } },
    buffers: [out, dout, dlse, delta],
    uniforms: [{ u32: T }, { u32: nHead }, { u32: rowCount }],
    workgroups: grid1d(ceilDiv(rowCount, 64)),
  });
  const qkvHalf = castToHalfKernel(qkv);
  const doutHalf = castToHalfKernel(dout);
  const dqkv = allocate([B, T, 3 * C]);
  const uniforms = [{ u32: T }, { u32: nHead }];
  const workgroups: [number, number] = [ceilDiv(T, bl.rows), B * nHead];
  for (const [name, source] of [['attention_backward_dq_f16', dqSource], ['attention_backward_dkv_f16', dkvSource]]) {
    dispatch({
      kernel: { name, source, regions: { qkv: qkvHalfRegion, dout: doutHalfRegion }, consts: attentionConsts(dims, bl) },
      buffers: [qkvHalf, doutHalf, lse, delta, dqkv],
      uniforms,
      workgroups,
    });
  }
  [delta, qkvHalf, doutHalf].forEach(release);
  return dqkv;
}

registerAttentionOps('HearthCausalSelfAttentionHalf', attentionForwardHalfKernel, attentionBackwardHalfKernel);

/** The f16-operand op with both outputs, optionally with a non-default cut of the work (tests run every variant). */
export function causalSelfAttentionHalfWithLse(qkv: Tensor3D, nHead: number, blocks?: AttentionBlocks): { out: Tensor3D; lse: Tensor3D } {
  const attrs: NamedAttrMap = blocks ? { nHead, rows: blocks.rows, tile: blocks.tile } : { nHead };
  const [out, lse] = runOp<Tensor[]>('HearthCausalSelfAttentionHalf', { qkv }, attrs);
  return { out: out as Tensor3D, lse: lse as Tensor3D };
}

/** GPT-2's attention core (as causalSelfAttention in index.ts) reading q, k, v and dO in f16. */
export function causalSelfAttentionHalf(qkv: Tensor3D, nHead: number): Tensor3D {
  const { out, lse } = causalSelfAttentionHalfWithLse(qkv, nHead);
  lse.dispose();
  return out;
}
