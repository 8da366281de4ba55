// Rotary position embedding as a tfjs op with its gradient (Llama, Mistral, Qwen2: the whole head; GPT-NeoX: the
// first rotaryDim dims of each head), Hugging Face's rotate_half convention (shaders/rope.wgsl). The backward is the
// same kernel rotating by −a.
import type { NamedAttrMap, Tensor, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { tensor1d, util, zerosLike } from '@tensorflow/tfjs-core';
import ropeSource from '../../../../shaders/rope.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
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

/** x rotated by +a (direction 1) or −a (−1, the backward); attrs as RopeSpec's, less B and invFreq. */
export function ropeKernel(x: TensorInfo, invFreq: TensorInfo, attrs: NamedAttrMap, direction: 1 | -1): TensorInfo {
  const [T, heads, headDim, rotaryDim, position] = ['T', 'nHeads', 'headDim', 'rotaryDim', 'position'].map(
    (k) => attrs[k] as number,
  );
  const rows = x.shape[0];
  const n = rows * heads * (headDim - rotaryDim / 2);
  const y = allocate(x.shape);
  dispatch({
    kernel: { ...ROPE, consts: { WG } },
    buffers: { x, inv_freq: invFreq, y },
    uniforms: { n, seq_len: T, heads, head_dim: headDim, rotary_dim: rotaryDim, position, direction },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return y;
}

registerOp({
  name: 'HearthRopeBackward',
  inputs: ['dy', 'invFreq'],
  forward: ({ dy, invFreq }, attrs) => ropeKernel(dy, invFreq, attrs, -1),
});
registerOp({
  name: 'HearthRope',
  inputs: ['x', 'invFreq'],
  forward: ({ x, invFreq }, attrs) => ropeKernel(x, invFreq, attrs, 1),
  gradient: {
    inputsToSave: ['invFreq'],
    grad: (dy, [invFreq], attrs) => ({
      x: () => runOp('HearthRopeBackward', { dy: dy as Tensor, invFreq }, attrs),
      invFreq: () => zerosLike(invFreq), // constants of the model, never trained
    }),
  },
});

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
}

/** x (B·T, nHeads·headDim) with each head's first rotaryDim dims rotated by (position + t)·invFreq (rotate_half
 * convention). Gradient for x. */
export function rope(x: Tensor2D, r: RopeSpec): Tensor2D {
  checkSpec(x, r);
  const invFreq = tensor1d(r.invFreq);
  const { T, nHeads, headDim, rotaryDim, position } = r;
  const y = runOp<Tensor2D>('HearthRope', { x, invFreq }, { T, nHeads, headDim, rotaryDim, position });
  invFreq.dispose(); // a gradient keeps its own saved copy
  return y;
}
