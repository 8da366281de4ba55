// The causal self-attention core as a tfjs op with its gradient, flash-style WGSL kernels.
//
// The kernels read q, k, v straight from a packed projection (B, T, (nHead + 2·nKvHead)·hd), the query heads, then
// the key heads, then the value heads (GPT-2's c_attn output (B, T, 3C) when nKvHead = nHead), and write (B, T, C)
// with heads merged: that is the usual (B, nh, T, hd) attention with strided indexing, which saves the split into
// q/k/v, the two head transposes and the merge transpose (four full copies each way) around the core.
// Grouped-query attention (nKvHead < nHead, Llama's num_key_value_heads): query head h reads kv head
// floor(h / (nHead / nKvHead)); the dK/dV pass sums a kv head's gradient over its group's query heads in one
// workgroup, in a fixed order. With nKvHead = nHead every pass does exactly GPT-2's work, with GPT-2's dispatches.
//
// Forward (shaders/attention_forward.wgsl): online softmax over key tiles, no T×T matrix in memory; it
// also returns each row's logsumexp (B, nh, T) so the backward can recompute probabilities exactly.
// Backward (FlashAttention-2 style, no atomics, deterministic): delta = rowsum(dO ∘ O) − dlse, then dQ
// parallel over query rows and dK, dV parallel over key rows, both writing into one packed dqkv.
//
// Mixed precision (`half`): the kernels read q, k, v (and, backward, dO) in f16, packed two per u32, with every
// score, softmax, sum and output in f32. As for the matmul, tensors stay float32 at the op's boundary and the op
// casts its operands: qkv once per pass (forward, backward) and dout once, into scratch released as soon as the
// kernels are recorded. The kernels read every K/V row once per block of query rows (ceil(T / 32) times), so
// halving those bytes outweighs the one cast pass. The backward's first pass, delta = rowsum(dO ∘ O) − dlse, reads
// f32 O and dO once each.
//
// Packed rows (TRL's padding-free packing, `positions`): several sequences share a row, each token's position counting
// from 0 at its sequence's first token, and query t sees only keys from t − positions[t] to t, its own sequence's
// earlier tokens (flash-attention's varlen kernels). The same shaders with their sequence_start and params regions
// replaced (common/attention_sequence_start.wgsl, attention_positions_*.wgsl) bind the positions (B, T) int32 after
// their other buffers; the delta pass needs no mask.
import type { Tensor, Tensor3D, TensorInfo, NamedAttrMap } from '@tensorflow/tfjs-core';
import { tensor2d, zerosLike } from '@tensorflow/tfjs-core';
import forwardSource from '../../../../shaders/attention_forward.wgsl?raw';
import deltaSource from '../../../../shaders/attention_backward_delta.wgsl?raw';
import dqSource from '../../../../shaders/attention_backward_dq.wgsl?raw';
import dkvSource from '../../../../shaders/attention_backward_dkv.wgsl?raw';
import { allocate, release, dispatch, grid1d, ceilDiv, defineKernel, type KernelSpec } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { castToHalfKernel } from '../half/index.ts';
import { dropoutThreshold } from '../dropout/seeds.ts';
import { include } from '../shader_source.ts';

/** How the work is cut: `rows` threads per workgroup, one query (or key) row each; `tile` rows of the
 * other side staged in workgroup memory at a time. */
export interface AttentionBlocks {
  rows: number;
  tile: number;
}

/** Each thread keeps up to four rows of hd floats in private memory, so very wide heads would spill badly. */
export const MAX_HEAD_DIM = 256;

/** Two tiles (K and V, or Q and dO) of `tile` × hd floats stay within 8 KiB: half of WebGPU's default
 * 16 KiB of workgroup memory, so two workgroups can share a compute unit on small GPUs. */
export function defaultBlocks(headDim: number): AttentionBlocks {
  let tile = 32;
  while (tile > 1 && tile * headDim > 1024) tile /= 2;
  return { rows: 32, tile };
}

export interface Dims {
  B: number;
  T: number;
  /** nHead·hd, the width of out */
  C: number;
  nHead: number;
  nKvHead: number;
  hd: number;
}

export function dimsOf(qkv: TensorInfo, nHead: number, nKvHead = nHead): Dims {
  if (qkv.shape.length !== 3) {
    throw new Error(`attention: qkv must be (B, T, (nHead + 2·nKvHead)·hd), got shape [${qkv.shape}]`);
  }
  const [B, T, width] = qkv.shape;
  if (!Number.isInteger(nHead) || nHead < 1 || !Number.isInteger(nKvHead) || nKvHead < 1 || nHead % nKvHead) {
    throw new Error(`attention: nKvHead = ${nKvHead} must divide nHead = ${nHead}`);
  }
  const heads = nHead + 2 * nKvHead;
  if (width % heads !== 0) {
    throw new Error(`attention: qkv's last dimension ${width} is not (nHead + 2·nKvHead)·hd = ${heads}·hd`);
  }
  const hd = width / heads;
  if (hd > MAX_HEAD_DIM) throw new Error(`attention: head dim ${hd} is above the supported ${MAX_HEAD_DIM}`);
  return { B, T, C: nHead * hd, nHead, nKvHead, hd };
}

/**
 * Attention dropout (attn_pdrop, training only): probability p of dropping each attention probability, with the mask
 * of score (i, j) of head (b, h) hashed from (seed, b·nHead + h, i·T + j) as in kernels/dropout/seeds.ts.
 */
export interface AttentionDropout {
  p: number;
  seed: number;
}

const dropoutOn = (d?: AttentionDropout): d is AttentionDropout => d !== undefined && d.p > 0;

export const consts = ({ hd }: Dims, { rows, tile }: AttentionBlocks, o: AttentionOptions) => ({
  HD: hd,
  ROWS: rows,
  TILE: tile,
  DROPOUT: dropoutOn(o.dropout),
  SCALED: o.scaled !== false,
  WINDOWED: o.window !== undefined,
});

/** T, nHead, nKvHead, then dropout's seed, threshold and 1/(1 − p) (read only by the DROPOUT variants), and the
 * local window (read only by the WINDOWED variants). */
const ATTENTION_UNIFORMS = {
  T: 'u32',
  nHead: 'u32',
  nKvHead: 'u32',
  seed: 'u32',
  threshold: 'u32',
  scale: 'f32',
  window: 'u32',
} as const;

function uniformsOf({ T, nHead, nKvHead }: Dims, { dropout, window }: AttentionOptions) {
  const on = dropoutOn(dropout);
  return {
    T,
    nHead,
    nKvHead,
    window: window === undefined ? 0 : Math.min(window, T), // a window of T or more is the whole causal row
    seed: on ? dropout.seed >>> 0 : 0,
    threshold: on ? dropoutThreshold(dropout.p) : 0,
    scale: on ? 1 / (1 - dropout.p) : 1,
  };
}

const FORWARD = defineKernel({
  name: 'attention_forward',
  source: forwardSource,
  buffers: { qkv: 'read', out: 'read_write', lse: 'read_write' },
  uniforms: ATTENTION_UNIFORMS,
});
/** Threads per workgroup of the delta pass, one row each. */
const DELTA_WG = 64;
const DELTA = defineKernel({
  name: 'attention_backward_delta',
  source: deltaSource,
  buffers: { out: 'read', dout: 'read', dlse: 'read', delta: 'read_write' },
  uniforms: { T: 'u32', nHead: 'u32', rowCount: 'u32' },
});
const BACKWARD_BUFFERS = { qkv: 'read', dout: 'read', lse: 'read', delta: 'read', dqkv: 'read_write' } as const;
/** Packed rows: each kernel's buffers, then the tokens' positions (B, T), bound by the params region's replacement. */
const PACKED = {
  forward: {
    buffers: { ...FORWARD.buffers, positions: 'read' },
    regions: { params: include('attention_positions_forward'), sequence_start: include('attention_sequence_start') },
  },
  backward: {
    buffers: { ...BACKWARD_BUFFERS, positions: 'read' },
    regions: { params: include('attention_positions_backward'), sequence_start: include('attention_sequence_start') },
  },
} as const;
/** The dQ pass (a workgroup per query head) and the dK/dV pass (per kv head, summing over its group). */
const BACKWARD = [
  {
    kernel: defineKernel({
      name: 'attention_backward_dq',
      source: dqSource,
      buffers: BACKWARD_BUFFERS,
      uniforms: ATTENTION_UNIFORMS,
    }),
    heads: (d: Dims) => d.nHead,
  },
  {
    kernel: defineKernel({
      name: 'attention_backward_dkv',
      source: dkvSource,
      buffers: BACKWARD_BUFFERS,
      uniforms: ATTENTION_UNIFORMS,
    }),
    heads: (d: Dims) => d.nKvHead,
  },
];

/** How one attention call runs. */
export interface AttentionOptions {
  /** a non-default cut of the work (tests run every variant) */
  blocks?: AttentionBlocks;
  dropout?: AttentionDropout;
  /** read q, k, v (and, backward, dO) in f16; scores, softmax, sums and outputs stay f32 */
  half?: boolean;
  /** key/value heads (grouped-query attention; must divide nHead); nHead when not given */
  nKvHead?: number;
  /** false: scores q·k without the 1/√hd (GPT-Neo); true by default */
  scaled?: boolean;
  /** a local window: query i sees keys j with 0 ≤ i − j < window only (GPT-Neo's local layers' window_size,
   * Mistral's sliding_window); the whole causal row when not given */
  window?: number;
}

/**
 * Mixed precision (`half`): the same shaders with their qkv and dout regions swapped for
 * shaders/common/attention_qkv_f16.wgsl and attention_dout_f16.wgsl, reading operands cast to packed f16 into
 * scratch; scores, softmax, sums and outputs stay f32.
 */
const halfRegions = { qkv: include('attention_qkv_f16'), dout: include('attention_dout_f16') };

/** A kernel as one call runs it: f16 operands (`half`), packed rows (`packed`: positions bound last). */
function variant(
  kernel: KernelSpec,
  o: { half: boolean; packed: boolean; halfRegions: Record<string, string> },
  packed: (typeof PACKED)['forward' | 'backward'],
): KernelSpec {
  const regions = { ...(o.half ? o.halfRegions : {}), ...(o.packed ? packed.regions : {}) };
  return {
    ...kernel,
    name: `${kernel.name}${o.half ? '_f16' : ''}${o.packed ? '_packed' : ''}`,
    ...(o.packed ? { buffers: packed.buffers } : {}),
    regions: Object.keys(regions).length ? regions : undefined,
  };
}

/** out (B, T, C) and lse (B, nh, T) from the packed qkv. lse never sees dropout. With `positions` (B, T) int32,
 * packed rows: each token attends within its own sequence only. */
export function attentionForwardKernel(
  qkv: TensorInfo,
  nHead: number,
  o: AttentionOptions = {},
  positions?: TensorInfo,
): TensorInfo[] {
  const { half = false } = o;
  const dims = dimsOf(qkv, nHead, o.nKvHead);
  const { B, T, C } = dims;
  const bl = o.blocks ?? defaultBlocks(dims.hd);
  const out = allocate([B, T, C]);
  const lse = allocate([B, nHead, T]);
  const q = half ? castToHalfKernel(qkv) : qkv;
  dispatch({
    kernel: {
      ...variant(
        FORWARD,
        { half, packed: positions !== undefined, halfRegions: { qkv: halfRegions.qkv } },
        PACKED.forward,
      ),
      consts: consts(dims, bl, o),
    },
    buffers: { qkv: q, out, lse, ...(positions ? { positions } : {}) },
    uniforms: uniformsOf(dims, o),
    workgroups: [ceilDiv(T, bl.rows), B * nHead],
  });
  if (half) release(q);
  return [out, lse];
}

/**
 * dqkv (qkv's shape) from the forward's inputs and outputs and the upstream gradients dout, dlse. `half` reads qkv and
 * dout in f16 in the dQ and dK/dV passes; the delta pass reads f32 O and dO once each either way. `positions`: the
 * forward's packed rows.
 */
export function attentionBackwardKernel(
  { qkv, out, lse, dout, dlse }: Record<'qkv' | 'out' | 'lse' | 'dout' | 'dlse', TensorInfo>,
  nHead: number,
  o: AttentionOptions = {},
  positions?: TensorInfo,
): TensorInfo {
  const { half = false } = o;
  const dims = dimsOf(qkv, nHead, o.nKvHead);
  const { B, T } = dims;
  const bl = o.blocks ?? defaultBlocks(dims.hd);
  const rowCount = B * nHead * T;
  const delta = allocate([B, nHead, T]);
  dispatch({
    kernel: { ...DELTA, consts: { HD: dims.hd, WG: DELTA_WG } },
    buffers: { out, dout, dlse, delta },
    uniforms: { T, nHead, rowCount },
    workgroups: grid1d(ceilDiv(rowCount, DELTA_WG)),
  });
  const q = half ? castToHalfKernel(qkv) : qkv;
  const dO = half ? castToHalfKernel(dout) : dout;
  const dqkv = allocate(qkv.shape);
  for (const { kernel, heads } of BACKWARD) {
    dispatch({
      kernel: {
        ...variant(kernel, { half, packed: positions !== undefined, halfRegions }, PACKED.backward),
        consts: consts(dims, bl, o),
      },
      buffers: { qkv: q, dout: dO, lse, delta, dqkv, ...(positions ? { positions } : {}) },
      uniforms: uniformsOf(dims, o),
      workgroups: [ceilDiv(T, bl.rows), B * heads(dims)],
    });
  }
  release(delta);
  if (half) [q, dO].forEach(release);
  return dqkv;
}

/** The op's attributes: nHead, whether operands are f16, and each other option where it is not the default. */
function attentionAttrs(nHead: number, o: AttentionOptions): NamedAttrMap {
  const { blocks, dropout, half = false, nKvHead, scaled = true, window } = o;
  if (dropout) dropoutThreshold(dropout.p); // refuses p outside [0, 1) before anything runs
  if (window !== undefined && (!Number.isInteger(window) || window < 1)) {
    throw new Error(`attention: window ${window} must be a whole number of positions, at least 1`);
  }
  return {
    ...(scaled ? {} : { unscaled: true }),
    ...(window !== undefined ? { window } : {}),
    nHead,
    half,
    ...(nKvHead !== undefined && nKvHead !== nHead ? { nKvHead } : {}),
    ...(blocks ? { rows: blocks.rows, tile: blocks.tile } : {}),
    ...(dropoutOn(dropout) ? { dropoutP: dropout.p, dropoutSeed: dropout.seed >>> 0 } : {}),
  };
}

const optionsOf = (attrs: NamedAttrMap): AttentionOptions => ({
  blocks: attrs.rows ? { rows: attrs.rows as number, tile: attrs.tile as number } : undefined,
  dropout: attrs.dropoutP ? { p: attrs.dropoutP as number, seed: attrs.dropoutSeed as number } : undefined,
  half: attrs.half === true,
  nKvHead: attrs.nKvHead as number | undefined,
  scaled: attrs.unscaled !== true,
  window: attrs.window as number | undefined,
});

// One op, registered under other names for f16 operands and for packed rows (an int32 positions input) so that
// profiles tell them apart.
const opName = (half: boolean, packed: boolean) =>
  `HearthCausalSelfAttention${half ? 'Half' : ''}${packed ? 'Packed' : ''}`;

type BackwardInputs = Record<'qkv' | 'out' | 'lse' | 'dout' | 'dlse', TensorInfo> & { positions?: TensorInfo };

for (const half of [false, true]) {
  for (const packed of [false, true]) {
    const name = opName(half, packed);
    registerOp({
      name: `${name}Backward`,
      inputs: ['qkv', 'out', 'lse', 'dout', 'dlse', ...(packed ? ['positions'] : [])],
      forward: (inputs, attrs) => {
        const { positions, ...rest } = inputs as BackwardInputs;
        return attentionBackwardKernel(rest, attrs.nHead as number, optionsOf(attrs), positions);
      },
    });
    registerOp({
      name,
      inputs: ['qkv', ...(packed ? ['positions'] : [])],
      forward: ({ qkv, positions }, attrs) =>
        attentionForwardKernel(qkv, attrs.nHead as number, optionsOf(attrs), positions),
      gradient: {
        inputsToSave: ['qkv', ...(packed ? ['positions'] : [])],
        outputsToSave: [true, true],
        grad: (dys, saved, attrs) => {
          // tfjs passes zeros for an output nobody differentiated (usually lse).
          const [dout, dlse] = dys as Tensor[];
          const [qkv, ...rest] = saved;
          const positions = packed ? rest.shift()! : undefined;
          const [out, lse] = rest;
          const inputs = { qkv, out, lse, dout, dlse, ...(positions ? { positions } : {}) };
          return {
            qkv: () => runOp(`${name}Backward`, inputs, attrs),
            ...(positions ? { positions: () => zerosLike(positions) } : {}), // token positions, never trained
          };
        },
      },
    });
  }
}

/**
 * Throws unless `positionIds` are packed rows' position ids for B rows of T tokens: each row's starting at 0, then each
 * 0 (a new sequence) or one more than the one before it, so that a sequence is a run of consecutive tokens (as
 * flash-attention's varlen takes them, and as the kernels' key-tile skipping assumes).
 */
export function checkPositionIds(positionIds: Int32Array, B: number, T: number): void {
  if (positionIds.length !== B * T)
    throw new Error(`expected ${B * T} position ids for ${B} rows of ${T} tokens, got ${positionIds.length}`);
  for (let k = 0; k < B * T; k++) {
    const p = positionIds[k];
    if (!(p === 0 || (k % T > 0 && p === positionIds[k - 1] + 1)))
      throw new Error(
        `position id ${p} of token ${k % T} in row ${Math.floor(k / T)}: packed sequences count 0, 1, 2, … from each one's first token`,
      );
  }
}

/** The op with both outputs (out and the logsumexp). With `positions` (B·T, each token's position within its
 * sequence, checkPositionIds), packed rows: query t sees keys t − positions[t] .. t only. */
export function causalSelfAttentionWithLse(
  qkv: Tensor3D,
  nHead: number,
  o: AttentionOptions = {},
  positions?: Int32Array,
): { out: Tensor3D; lse: Tensor3D } {
  const attrs = attentionAttrs(nHead, o);
  const [B, T] = qkv.shape;
  if (positions) checkPositionIds(positions, B, T);
  const pos = positions && tensor2d(positions, [B, T], 'int32');
  const inputs = { qkv, ...(pos ? { positions: pos } : {}) };
  const [out, lse] = runOp<Tensor[]>(opName(o.half === true, pos !== undefined), inputs, attrs);
  pos?.dispose(); // the tape keeps its own copy for the backward
  return { out: out as Tensor3D, lse: lse as Tensor3D };
}

/** The attention core. qkv: (B, T, 3C) as produced by GPT-2's c_attn (q = cols [0,C), k = [C,2C), v = [2C,3C);
 * head h uses cols h·hd..(h+1)·hd of each, hd = C / nHead), or with `nKvHead` (B, T, (nHead + 2·nKvHead)·hd):
 * nHead q heads, then nKvHead k heads, then nKvHead v heads, query head h reading kv head
 * floor(h / (nHead / nKvHead)). Returns (B, T, C = nHead·hd) with heads merged the same way (what HF's _merge_heads
 * gives), i.e. softmax(q·kᵀ/√hd + causal mask)·v per (b, h). Options: `half` (f16 operands), `nKvHead`, `scaled`
 * (false: no 1/√hd) and `window` (a local window); `positions` (B·T): packed rows, each token attending within its
 * own sequence (causalSelfAttentionWithLse). */
export function causalSelfAttention(
  qkv: Tensor3D,
  nHead: number,
  dropout?: AttentionDropout,
  options: Omit<AttentionOptions, 'dropout' | 'blocks'> = {},
  positions?: Int32Array,
): Tensor3D {
  const { out, lse } = causalSelfAttentionWithLse(qkv, nHead, { ...options, dropout }, positions);
  // The tape keeps its own reference to lse for the backward; the caller only wants out.
  lse.dispose();
  return out;
}
