// Rotary position embedding as a tfjs op with its gradient (Llama, Mistral, Qwen2: the whole head; GPT-NeoX: the
// first rotaryDim dims of each head), Hugging Face's rotate_half convention (shaders/rope.wgsl). The backward is the
// same kernel rotating by −a. Packed rows (TRL's padding-free packing) give each token its own position (`positions`):
// the same shader with its positions region replaced (common/rope_positions.wgsl) reads them from a buffer.
import type { NamedAttrMap, Tensor, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { tensor1d, util, zerosLike } from '@tensorflow/tfjs-core';
import { include } from '../shader_source.ts';
import ropeSource from '../../../../shaders/rope.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel, type KernelSpec } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

/** Where and how a (B·T, nHeads·headDim) query or key tensor is rotated. */
export interface RopeSpec {
  B: number;
  T: number;
  nHeads: number;
  headDim: number;
  /** the rotated dims at the start of each head (even, ≤ headDim); the rest pass through */
  rotaryDim: number;
  /** (rotaryDim / 2) inverse frequencies, e.g. 1 / theta^(2i / rotaryDim), after any rope_scaling */
  invFreq: Float32Array;
  /** the position of row t = 0 (the KV cache's length when decoding) */
  position: number;
  /** packed rows: each token's own position (B·T, its place within its sequence), in place of position + t */
  positions?: Int32Array;
}

const WG = 256;
const ROPE = defineKernel({
  name: 'rope',
  source: ropeSource,
  buffers: { x: 'read', inv_freq: 'read', y: 'read_write' },
  uniforms: {
    n: 'u32',
    seq_len: 'u32',
    heads: 'u32',
    head_dim: 'u32',
    rotary_dim: 'u32',
    position: 'u32',
    direction: 'f32',
  },
});

/** Packed rows: rope.wgsl reading each token's position from a buffer bound after its others. */
const ROPE_PACKED = {
  ...ROPE,
  name: 'rope_packed',
  buffers: { ...ROPE.buffers, positions: 'read' },
  regions: { positions: include('rope_positions') },
} as const;

/** x rotated by +a (direction 1) or −a (−1, the backward); attrs as RopeSpec's, less B and invFreq; with `positions`
 * (B·T int32), each row at its own position. */
export function ropeKernel(
  x: TensorInfo,
  invFreq: TensorInfo,
  attrs: NamedAttrMap,
  direction: 1 | -1,
  positions?: TensorInfo,
): TensorInfo {
  const [T, heads, headDim, rotaryDim, position] = ['T', 'nHeads', 'headDim', 'rotaryDim', 'position'].map(
    (k) => attrs[k] as number,
  );
  const rows = x.shape[0];
  const n = rows * heads * (headDim - rotaryDim / 2);
  const y = allocate(x.shape);
  const buffers: Record<string, TensorInfo> = { x, inv_freq: invFreq, y, ...(positions ? { positions } : {}) };
  dispatch({
    kernel: { ...((positions ? ROPE_PACKED : ROPE) as KernelSpec), consts: { WG } },
    buffers,
    uniforms: { n, seq_len: T, heads, head_dim: headDim, rotary_dim: rotaryDim, position, direction },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return y;
}

// Packed rows run under their own op names (an int32 positions input), so that profiles tell them apart.
for (const packed of [false, true]) {
  const name = packed ? 'HearthRopePacked' : 'HearthRope';
  const extra = packed ? ['positions'] : [];
  registerOp({
    name: `${name}Backward`,
    inputs: ['dy', 'invFreq', ...extra],
    forward: ({ dy, invFreq, positions }, attrs) => ropeKernel(dy, invFreq, attrs, -1, positions),
  });
  registerOp({
    name,
    inputs: ['x', 'invFreq', ...extra],
    forward: ({ x, invFreq, positions }, attrs) => ropeKernel(x, invFreq, attrs, 1, positions),
    gradient: {
      inputsToSave: ['invFreq', ...extra],
      grad: (dy, [invFreq, positions], attrs) => ({
        x: () => runOp(`${name}Backward`, { dy: dy as Tensor, invFreq, ...(positions ? { positions } : {}) }, attrs),
        invFreq: () => zerosLike(invFreq), // constants of the model, never trained
        ...(positions ? { positions: () => zerosLike(positions) } : {}), // token positions, never trained
      }),
    },
  });
}

function checkSpec(x: Tensor2D, r: RopeSpec): void {
  const { B, T, nHeads, headDim, rotaryDim, invFreq, position } = r;
  const where = `rope(x (${x.shape.join(', ')}), B=${B}, T=${T}, nHeads=${nHeads}, headDim=${headDim})`;
  if (x.shape.length !== 2 || x.shape[0] !== B * T || x.shape[1] !== nHeads * headDim) {
    throw new Error(`${where}: x must be (B·T, nHeads·headDim)`);
  }
  if (!util.isInt(rotaryDim) || rotaryDim < 2 || rotaryDim % 2 || rotaryDim > headDim) {
    throw new Error(`${where}: rotaryDim ${rotaryDim} must be even, at least 2 and at most headDim`);
  }
  if (invFreq.length !== rotaryDim / 2) {
    throw new Error(`${where}: invFreq has ${invFreq.length} values; rotaryDim ${rotaryDim} needs ${rotaryDim / 2}`);
  }
  if (!util.isInt(position) || position < 0) throw new Error(`${where}: position ${position} is not a whole number`);
  if (r.positions && (r.positions.length !== B * T || r.positions.some((p) => p < 0)))
    throw new Error(`${where}: positions must be B·T = ${B * T} positions, none negative`);
}

/** x (B·T, nHeads·headDim) with each head's first rotaryDim dims rotated by (position + t)·invFreq, or with
 * `positions` by positions[b·T + t]·invFreq (rotate_half convention). Gradient for x. */
export function rope(x: Tensor2D, r: RopeSpec): Tensor2D {
  checkSpec(x, r);
  const invFreq = tensor1d(r.invFreq);
  const positions = r.positions && tensor1d(r.positions, 'int32');
  const { T, nHeads, headDim, rotaryDim, position } = r;
  const y = runOp<Tensor2D>(
    positions ? 'HearthRopePacked' : 'HearthRope',
    { x, invFreq, ...(positions ? { positions } : {}) },
    { T, nHeads, headDim, rotaryDim, position },
  );
  // a gradient keeps its own saved copies
  invFreq.dispose();
  positions?.dispose();
  return y;
}
