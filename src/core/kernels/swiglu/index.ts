// SwiGLU's gating as a tfjs op with its gradient (Llama's MLP: down_proj(silu(gate_proj(x))·up_proj(x))):
// y = silu(gate)·up elementwise in one kernel, both input gradients in one more.
import type { Tensor, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import swigluSource from '../../../../shaders/swiglu.wgsl?raw';
import swigluBackwardSource from '../../../../shaders/swiglu_backward.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

const WG = 256;
const FORWARD = defineKernel({
  name: 'swiglu',
  source: swigluSource,
  buffers: { gate: 'read', up: 'read', y: 'read_write' },
  uniforms: { n: 'u32' },
});
const BACKWARD = defineKernel({
  name: 'swiglu_backward',
  source: swigluBackwardSource,
  buffers: { gate: 'read', up: 'read', dy: 'read', dgate: 'read_write', dup: 'read_write' },
  uniforms: { n: 'u32' },
});

export function swigluForwardKernel(gate: TensorInfo, up: TensorInfo): TensorInfo {
  if (!util.arraysEqual(gate.shape, up.shape)) {
    throw new Error(`swiglu: gate (${gate.shape.join(', ')}) and up (${up.shape.join(', ')}) differ in shape`);
  }
  const n = util.sizeFromShape(gate.shape);
  const y = allocate(gate.shape);
  dispatch({
    kernel: { ...FORWARD, consts: { WG } },
    buffers: { gate, up, y },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return y;
}

/** [dgate, dup]. */
export function swigluBackwardKernel(gate: TensorInfo, up: TensorInfo, dy: TensorInfo): TensorInfo[] {
  const n = util.sizeFromShape(gate.shape);
  const dgate = allocate(gate.shape);
  const dup = allocate(gate.shape);
  dispatch({
    kernel: { ...BACKWARD, consts: { WG } },
    buffers: { gate, up, dy, dgate, dup },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return [dgate, dup];
}

registerOp({
  name: 'HearthSwigluBackward',
  inputs: ['gate', 'up', 'dy'],
  forward: ({ gate, up, dy }) => swigluBackwardKernel(gate, up, dy),
});
registerOp({
  name: 'HearthSwiglu',
  inputs: ['gate', 'up'],
  forward: ({ gate, up }) => swigluForwardKernel(gate, up),
  gradient: {
    inputsToSave: ['gate', 'up'],
    grad: (dy, [gate, up]) => {
      // Both gradients from one dispatch; this function's tidy keeps what the closures return.
      const [dgate, dup] = runOp<Tensor[]>('HearthSwigluBackward', { gate, up, dy: dy as Tensor });
      return { gate: () => dgate, up: () => dup };
    },
  },
});

/** silu(gate)·up, elementwise; gate and up (M, I). Gradients for gate and up. */
export const swiglu = (gate: Tensor2D, up: Tensor2D): Tensor2D => runOp<Tensor2D>('HearthSwiglu', { gate, up });
