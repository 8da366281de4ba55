// The kernels generation runs on: appending a step's keys and values to a layer's cache and attention of the new
// positions' queries against everything cached (shaders/kv_cache_write.wgsl, decode_attention.wgsl). A step's
// matmuls, the Conv1D layers and the tied head, are the matmul family's: for a few rows it chooses its 'rows'
// variant by itself.
//
// Grouped-query attention (nKvHead < nHead): qkv is packed (B, Tq, (nHead + 2·nKvHead)·hd) as for the flash kernels
// (kernels/attention), the caches hold the nKvHead kv heads only, and query head h reads kv head
// floor(h / (nHead / nKvHead)). Without it, nKvHead = nHead and qkv is GPT-2's (B, Tq, 3C).
//
// Caches are (B, nKvHead, capacity, hd) float32 tensors written in place: they belong to one generation, nobody
// differentiates through them, and copying a whole cache each step would make a step O(capacity) in memory
// traffic for nothing.
import {
  engine,
  type Tensor,
  type Tensor3D,
  type Tensor4D,
  type TensorInfo,
  type NamedAttrMap,
} from '@tensorflow/tfjs-core';
import writeSource from '../../../../shaders/kv_cache_write.wgsl?raw';
import attentionSource from '../../../../shaders/decode_attention.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { dimsOf } from '../attention/index.ts';

/** Threads per workgroup of the cache write, one element each. */
const WRITE_WG = 256;
const WRITE = defineKernel({
  name: 'kv_cache_write',
  source: writeSource,
  buffers: { qkv: 'read', kCache: 'read_write', vCache: 'read_write' },
  uniforms: { n: 'u32', Tq: 'u32', past: 'u32', nHead: 'u32', nKvHead: 'u32', capacity: 'u32' },
});
const ATTENTION = defineKernel({
  name: 'decode_attention',
  source: attentionSource,
  buffers: { qkv: 'read', kCache: 'read', vCache: 'read', out: 'read_write' },
  uniforms: { Tq: 'u32', past: 'u32', nHead: 'u32', nKvHead: 'u32', capacity: 'u32', window: 'u32', scale: 'f32' },
});

/** Threads per query row: one key each per tile; 64 fills a SIMD group on most GPUs and keeps the tile small. */
export const DEFAULT_DECODE_WG = 64;

interface QkvDims {
  B: number;
  Tq: number;
  /** nHead·hd, the width of out */
  C: number;
  hd: number;
  nKvHead: number;
}

function qkvDims(qkv: TensorInfo, nHead: number, nKvHead: number): QkvDims {
  // The packed layout is the flash kernels'; so are its checks and their messages.
  const { B, T, C, hd } = dimsOf(qkv, nHead, nKvHead);
  return { B, Tq: T, C, hd, nKvHead };
}

function checkCache(cache: TensorInfo, { B, hd, nKvHead }: QkvDims, past: number, Tq: number): number {
  const [cb, ch, capacity, chd] = cache.shape;
  if (cache.shape.length !== 4 || cb !== B || ch !== nKvHead || chd !== hd) {
    throw new Error(`KV cache has shape [${cache.shape}], expected [${B}, ${nKvHead}, capacity, ${hd}]`);
  }
  if (!Number.isInteger(past) || past < 0 || past + Tq > capacity) {
    throw new Error(`KV cache: positions ${past}..${past + Tq - 1} do not fit its capacity ${capacity}`);
  }
  return capacity;
}

/** An empty cache for one layer's keys or values, (B, nKvHead, capacity, hd). Its contents are undefined until
 * written. */
export function createKvCache(B: number, nKvHead: number, capacity: number, headDim: number): Tensor4D {
  return engine().makeTensorFromTensorInfo(allocate([B, nKvHead, capacity, headDim])) as Tensor4D;
}

/** Writes k and v of the packed qkv (B, Tq, (nHead + 2·nKvHead)·hd) into rows past .. past+Tq−1 of the caches, in
 * place. */
export function kvCacheWrite(
  qkv: TensorInfo,
  kCache: TensorInfo,
  vCache: TensorInfo,
  past: number,
  nHead: number,
  nKvHead = nHead,
): void {
  const dims = qkvDims(qkv, nHead, nKvHead);
  const capacity = checkCache(kCache, dims, past, dims.Tq);
  checkCache(vCache, dims, past, dims.Tq);
  const n = dims.B * dims.Tq * nKvHead * dims.hd;
  dispatch({
    kernel: { ...WRITE, consts: { HD: dims.hd, WG: WRITE_WG } },
    buffers: { qkv, kCache, vCache },
    uniforms: { n, Tq: dims.Tq, past, nHead, nKvHead, capacity },
    workgroups: grid1d(ceilDiv(n, WRITE_WG)),
  });
}

/** How a decode attention call runs. */
export interface DecodeOptions {
  /** threads per query row (tests run several) */
  wg?: number;
  /** cached key/value heads (grouped-query attention); nHead when not given */
  nKvHead?: number;
  /** false: scores without the 1/√hd (GPT-Neo); true by default */
  scaled?: boolean;
  /** a local window: query position i sees positions j with 0 ≤ i − j < window only; everything when not given */
  window?: number;
}

/** out (B, Tq, C) for queries of the packed qkv at positions past .. past+Tq−1 against the caches. */
export function decodeAttentionKernel(
  qkv: TensorInfo,
  kCache: TensorInfo,
  vCache: TensorInfo,
  past: number,
  nHead: number,
  { wg = DEFAULT_DECODE_WG, nKvHead = nHead, scaled = true, window = 0 }: DecodeOptions = {},
): TensorInfo {
  const dims = qkvDims(qkv, nHead, nKvHead);
  const capacity = checkCache(kCache, dims, past, dims.Tq);
  checkCache(vCache, dims, past, dims.Tq);
  const out = allocate([dims.B, dims.Tq, dims.C]);
  dispatch({
    kernel: { ...ATTENTION, consts: { HD: dims.hd, WG: wg } },
    buffers: { qkv, kCache, vCache, out },
    uniforms: { Tq: dims.Tq, past, nHead, nKvHead, capacity, window, scale: scaled ? 1 / Math.sqrt(dims.hd) : 1 },
    workgroups: [dims.Tq, nHead, dims.B],
  });
  return out;
}

registerOp({
  name: 'HearthDecodeAttention',
  inputs: ['qkv', 'kCache', 'vCache'],
  forward: ({ qkv, kCache, vCache }, attrs) =>
    decodeAttentionKernel(qkv, kCache, vCache, attrs.past as number, attrs.nHead as number, {
      wg: attrs.wg as number,
      nKvHead: attrs.nKvHead as number,
      scaled: attrs.scaled as boolean,
      window: attrs.window as number,
    }),
});

/** Attention of the new positions against the cache (which must already hold them); not differentiable. */
export function decodeAttention(
  qkv: Tensor3D,
  kCache: Tensor,
  vCache: Tensor,
  past: number,
  nHead: number,
  { wg = DEFAULT_DECODE_WG, nKvHead = nHead, scaled = true, window = 0 }: DecodeOptions = {},
): Tensor3D {
  if (!Number.isInteger(window) || window < 0) throw new Error(`decode attention: window ${window} is not a size`);
  const attrs: NamedAttrMap = { past, nHead, wg, nKvHead, scaled, window };
  return runOp<Tensor3D>('HearthDecodeAttention', { qkv, kCache, vCache }, attrs);
}
