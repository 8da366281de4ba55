// The kernels generation runs on: appending a step's keys and values to a layer's cache, attention of the new
// positions' queries against everything cached, the Conv1D matmuls for a step's few rows, and the tied head for
// the last positions only (shaders/kv_cache_write.wgsl, decode_attention.wgsl, decode_matmul.wgsl,
// decode_logits.wgsl).
//
// Caches are (B, nh, capacity, hd) float32 tensors written in place: they belong to one generation, nobody
// differentiates through them, and copying a whole cache each step would make a step O(capacity) in memory
// traffic for nothing.
import { engine, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D, type Tensor4D, type TensorInfo, type NamedAttrMap } from '@tensorflow/tfjs-core';
import writeSource from '../../../../shaders/kv_cache_write.wgsl?raw';
import attentionSource from '../../../../shaders/decode_attention.wgsl?raw';
import logitsSource from '../../../../shaders/decode_logits.wgsl?raw';
import matmulSource from '../../../../shaders/decode_matmul.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

/** Threads per query row: one key each per tile; 64 fills a SIMD group on most GPUs and keeps the tile small. */
export const DEFAULT_DECODE_WG = 64;

/** Rows one pass of the decode matmul and head keep in registers; more rows take more passes over the weights. */
export const DECODE_MAX_ROWS = 8;

interface QkvDims {
  B: number;
  Tq: number;
  C: number;
  hd: number;
}

function qkvDims(qkv: TensorInfo, nHead: number): QkvDims {
  if (qkv.shape.length !== 3) throw new Error(`decode attention: qkv must be (B, Tq, 3C), got shape [${qkv.shape}]`);
  const [B, Tq, C3] = qkv.shape;
  if (!Number.isInteger(nHead) || nHead < 1 || C3 % (3 * nHead) !== 0) {
    throw new Error(`decode attention: qkv's last dimension ${C3} is not 3·nHead·hd for nHead = ${nHead}`);
  }
  return { B, Tq, C: C3 / 3, hd: C3 / 3 / nHead };
}

function checkCache(cache: TensorInfo, { B, hd }: QkvDims, nHead: number, past: number, Tq: number): number {
  const [cb, ch, capacity, chd] = cache.shape;
  if (cache.shape.length !== 4 || cb !== B || ch !== nHead || chd !== hd) {
    throw new Error(`KV cache has shape [${cache.shape}], expected [${B}, ${nHead}, capacity, ${hd}]`);
  }
  if (!Number.isInteger(past) || past < 0 || past + Tq > capacity) {
    throw new Error(`KV cache: positions ${past}..${past + Tq - 1} do not fit its capacity ${capacity}`);
  }
  return capacity;
}

/** An empty cache for one layer's keys or values, (B, nh, capacity, hd). Its contents are undefined until written. */
export function createKvCache(B: number, nHead: number, capacity: number, headDim: number): Tensor4D {
  return engine().makeTensorFromTensorInfo(allocate([B, nHead, capacity, headDim])) as Tensor4D;
}

/** Writes k and v of qkv (B, Tq, 3C) into rows past .. past+Tq−1 of the caches, in place. */
export function kvCacheWrite(qkv: TensorInfo, kCache: TensorInfo, vCache: TensorInfo, past: number, nHead: number): void {
  const dims = qkvDims(qkv, nHead);
  const capacity = checkCache(kCache, dims, nHead, past, dims.Tq);
  checkCache(vCache, dims, nHead, past, dims.Tq);
  const n = dims.B * dims.Tq * dims.C;
  dispatch({
    kernel: { name: 'kv_cache_write', source: writeSource, consts: { HD: dims.hd } },
    buffers: [qkv, kCache, vCache],
    uniforms: [{ u32: n }, { u32: dims.Tq }, { u32: past }, { u32: nHead }, { u32: capacity }],
    workgroups: grid1d(ceilDiv(n, 256)),
  });
}

/** out (B, Tq, C) for queries of qkv (B, Tq, 3C) at positions past .. past+Tq−1 against the caches. */
export function decodeAttentionKernel(qkv: TensorInfo, kCache: TensorInfo, vCache: TensorInfo, past: number, nHead: number, wg = DEFAULT_DECODE_WG): TensorInfo {
  const dims = qkvDims(qkv, nHead);
  const capacity = checkCache(kCache, dims, nHead, past, dims.Tq);
  checkCache(vCache, dims, nHead, past, dims.Tq);
  const out = allocate([dims.B, dims.Tq, dims.C]);
  dispatch({
    kernel: { name: 'decode_attention', source: attentionSource, consts: { HD: dims.hd, WG: wg } },
    buffers: [qkv, kCache, vCache, out],
    uniforms: [{ u32: dims.Tq }, { u32: past }, { u32: nHead }, { u32: capacity }],
    workgroups: [dims.Tq, nHead, dims.B],
  });
  return out;
}

registerOp({
  name: 'HearthDecodeAttention',
  inputs: ['qkv', 'kCache', 'vCache'],
  forward: ({ qkv, kCache, vCache }, attrs) =>
    decodeAttentionKernel(qkv, kCache, vCache, attrs.past as number, attrs.nHead as number, attrs.wg as number),
});

/** Attention of the new positions against the cache (which must already hold them); not differentiable. */
export function decodeAttention(qkv: Tensor3D, kCache: Tensor, vCache: Tensor, past: number, nHead: number, wg = DEFAULT_DECODE_WG): Tensor3D {
  const attrs: NamedAttrMap = { past, nHead, wg };
  return runOp<Tensor3D>('HearthDecodeAttention', { qkv, kCache, vCache }, attrs);
}

/** logits (B, V) = h (B, C) · wteᵀ for wte (V, C), one vocabulary row per thread (see the shader for why). */
export function decodeLogitsKernel(h: TensorInfo, wte: TensorInfo, maxB = DECODE_MAX_ROWS): TensorInfo {
  const [B, C] = h.shape;
  const [V, Cw] = wte.shape;
  if (h.shape.length !== 2 || wte.shape.length !== 2 || C !== Cw) {
    throw new Error(`decode logits: h [${h.shape}] and wte [${wte.shape}] must be (B, C) and (V, C)`);
  }
  const out = allocate([B, V]);
  dispatch({
    kernel: { name: 'decode_logits', source: logitsSource, consts: { MAXB: maxB } },
    buffers: [h, wte, out],
    uniforms: [{ u32: B }, { u32: V }, { u32: C }],
    workgroups: grid1d(ceilDiv(V, 64)),
  });
  return out;
}

registerOp({
  name: 'HearthDecodeLogits',
  inputs: ['h', 'wte'],
  forward: ({ h, wte }, attrs) => decodeLogitsKernel(h, wte, attrs.maxB as number),
});

/** The tied head h · wteᵀ for a few rows (B, C) → (B, V); not differentiable. */
export function decodeLogits(h: Tensor2D, wte: Tensor2D, maxB = DECODE_MAX_ROWS): Tensor2D {
  return runOp<Tensor2D>('HearthDecodeLogits', { h, wte }, { maxB });
}

/** y (M, N) = x (M, K) · w (K, N) + bias [then gelu_new], one output column per thread (see the shader). */
export function decodeMatmulKernel(x: TensorInfo, w: TensorInfo, bias: TensorInfo, gelu: boolean, maxB = DECODE_MAX_ROWS): TensorInfo {
  const [M, K] = x.shape;
  const [Kw, N] = w.shape;
  if (x.shape.length !== 2 || w.shape.length !== 2 || K !== Kw || bias.shape.length !== 1 || bias.shape[0] !== N) {
    throw new Error(`decode matmul: x [${x.shape}], w [${w.shape}], bias [${bias.shape}] must be (M, K), (K, N), (N)`);
  }
  const y = allocate([M, N]);
  dispatch({
    kernel: { name: 'decode_matmul', source: matmulSource, consts: { MAXB: maxB, GELU: gelu } },
    buffers: [x, w, bias, y],
    uniforms: [{ u32: M }, { u32: K }, { u32: N }],
    workgroups: grid1d(ceilDiv(N, 64)),
  });
  return y;
}

registerOp({
  name: 'HearthDecodeMatmul',
  inputs: ['x', 'w', 'bias'],
  forward: ({ x, w, bias }, attrs) => decodeMatmulKernel(x, w, bias, attrs.gelu as boolean, attrs.maxB as number),
});

/** x · w + bias [then gelu_new] for a few rows; not differentiable. */
export function decodeMatmul(x: Tensor2D, w: Tensor2D, bias: Tensor1D, gelu = false, maxB = DECODE_MAX_ROWS): Tensor2D {
  return runOp<Tensor2D>('HearthDecodeMatmul', { x, w, bias }, { gelu, maxB });
}
