// The kernels generation runs on: appending a step's keys and values to a layer's cache and attention of the new
// positions' queries against everything cached (shaders/kv_cache_write.wgsl, decode_attention.wgsl). A step's
// matmuls, the Conv1D layers and the tied head, are the matmul family's: for a few rows it chooses its 'rows'
// variant by itself.
//
// Caches are (B, nh, capacity, hd) float32 tensors written in place: they belong to one generation, nobody
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

/** Threads per workgroup of the cache write, one element each. */
const WRITE_WG = 256;
const WRITE = defineKernel({
  name: 'kv_cache_write',
  source: writeSource,
  buffers: { qkv: 'read', kCache: 'read_write', vCache: 'read_write' },
  uniforms: { n: 'u32', Tq: 'u32', past: 'u32', nHead: 'u32', capacity: 'u32', nKvHead: 'u32' },
});
const ATTENTION = defineKernel({
  name: 'decode_attention',
  source: attentionSource,
  buffers: { qkv: 'read', kCache: 'read', vCache: 'read', out: 'read_write' },
  uniforms: { Tq: 'u32', past: 'u32', nHead: 'u32', capacity: 'u32', nKvHead: 'u32' },
});

/** Threads per query row: one key each per tile; 64 fills a SIMD group on most GPUs and keeps the tile small. */
export const DEFAULT_DECODE_WG = 64;

/** Query heads, and the key/value heads they share in equal groups (grouped-query attention); a number: as many. */
export type DecodeHeads = number | { nHead: number; nKvHead: number };

interface QkvDims {
  B: number;
  Tq: number;
  /** query columns nHead·hd */
  C: number;
  hd: number;
  nHead: number;
  nKvHead: number;
}

function qkvDims(qkv: TensorInfo, heads: DecodeHeads): QkvDims {
  const { nHead, nKvHead } = typeof heads === 'number' ? { nHead: heads, nKvHead: heads } : heads;
  if (qkv.shape.length !== 3)
    throw new Error(`decode attention: qkv must be (B, Tq, (nHead + 2·nKvHead)·hd), got shape [${qkv.shape}]`);
  const [B, Tq, width] = qkv.shape;
  const columns = nHead + 2 * nKvHead;
  if (!Number.isInteger(nHead) || nHead < 1 || !(nKvHead >= 1) || nHead % nKvHead !== 0 || width % columns !== 0) {
    throw new Error(
      `decode attention: qkv's last dimension ${width} is not (nHead + 2·nKvHead)·hd for nHead = ${nHead}, nKvHead = ${nKvHead}`,
    );
  }
  const hd = width / columns;
  return { B, Tq, C: nHead * hd, hd, nHead, nKvHead };
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

/** An empty cache of one layer's keys or values, (B, kv heads, capacity, hd), undefined until written. */
export function createKvCache(B: number, nHead: number, capacity: number, headDim: number): Tensor4D {
  return engine().makeTensorFromTensorInfo(allocate([B, nHead, capacity, headDim])) as Tensor4D;
}

/** Writes k and v of qkv (B, Tq, (nHead + 2·nKvHead)·hd) into rows past .. past+Tq−1 of the caches, in place. */
export function kvCacheWrite(
  qkv: TensorInfo,
  kCache: TensorInfo,
  vCache: TensorInfo,
  past: number,
  heads: DecodeHeads,
): void {
  const dims = qkvDims(qkv, heads);
  const capacity = checkCache(kCache, dims, past, dims.Tq);
  checkCache(vCache, dims, past, dims.Tq);
  const n = dims.B * dims.Tq * dims.nKvHead * dims.hd;
  dispatch({
    kernel: { ...WRITE, consts: { HD: dims.hd, WG: WRITE_WG } },
    buffers: { qkv, kCache, vCache },
    uniforms: { n, Tq: dims.Tq, past, nHead: dims.nHead, capacity, nKvHead: dims.nKvHead },
    workgroups: grid1d(ceilDiv(n, WRITE_WG)),
  });
}

/** out (B, Tq, nHead·hd) for queries of qkv (B, Tq, (nHead + 2·nKvHead)·hd) at positions past .. past+Tq−1 against
 * the caches. */
export function decodeAttentionKernel(
  qkv: TensorInfo,
  kCache: TensorInfo,
  vCache: TensorInfo,
  past: number,
  heads: DecodeHeads,
  wg = DEFAULT_DECODE_WG,
): TensorInfo {
  const dims = qkvDims(qkv, heads);
  const capacity = checkCache(kCache, dims, past, dims.Tq);
  checkCache(vCache, dims, past, dims.Tq);
  const out = allocate([dims.B, dims.Tq, dims.C]);
  dispatch({
    kernel: { ...ATTENTION, consts: { HD: dims.hd, WG: wg } },
    buffers: { qkv, kCache, vCache, out },
    uniforms: { Tq: dims.Tq, past, nHead: dims.nHead, capacity, nKvHead: dims.nKvHead },
    workgroups: [dims.Tq, dims.nHead, dims.B],
  });
  return out;
}

registerOp({
  name: 'HearthDecodeAttention',
  inputs: ['qkv', 'kCache', 'vCache'],
  forward: ({ qkv, kCache, vCache }, attrs) =>
    decodeAttentionKernel(
      qkv,
      kCache,
      vCache,
      attrs.past as number,
      { nHead: attrs.nHead as number, nKvHead: attrs.nKvHead as number },
      attrs.wg as number,
    ),
});

/** Attention of the new positions against the cache (which must already hold them); not differentiable. */
export function decodeAttention(
  qkv: Tensor3D,
  kCache: Tensor,
  vCache: Tensor,
  past: number,
  heads: DecodeHeads,
  wg = DEFAULT_DECODE_WG,
): Tensor3D {
  const { nHead, nKvHead } = typeof heads === 'number' ? { nHead: heads, nKvHead: heads } : heads;
  const attrs: NamedAttrMap = { past, nHead, nKvHead, wg };
  return runOp<Tensor3D>('HearthDecodeAttention', { qkv, kCache, vCache }, attrs);
}
