// GELU as a tfjs op with its gradient: GPT-2's `gelu_new` (the tanh approximation), or the exact GELU x·Φ(x)
// (GPT-NeoX, PyTorch's nn.GELU()) with the shaders' `gelu` region replaced by common/gelu_exact.wgsl.
import { util, type NamedAttrMap, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import geluSource from '../../../../shaders/gelu.wgsl?raw';
import geluBackwardSource from '../../../../shaders/gelu_backward.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { include } from '../shader_source.ts';

const WG = 256;
const FORWARD = defineKernel({
  name: 'gelu',
  source: geluSource,
  buffers: { x: 'read', y: 'read_write' },
  uniforms: { n: 'u32' },
});
const BACKWARD = defineKernel({
  name: 'gelu_backward',
  source: geluBackwardSource,
  buffers: { x: 'read', dy: 'read', dx: 'read_write' },
  uniforms: { n: 'u32' },
});

/** The regions (and profile name) of the exact GELU; none for gelu_new. */
export const geluVariant = (exact: boolean, name: string) =>
  exact ? { name: `${name}_exact`, regions: { gelu: include('gelu_exact') } } : {};

const exactOf = (attrs: NamedAttrMap) => attrs.exact === true;

export function geluForwardKernel(x: TensorInfo, exact = false): TensorInfo {
  const n = util.sizeFromShape(x.shape);
  const y = allocate(x.shape);
  dispatch({
    kernel: { ...FORWARD, ...geluVariant(exact, FORWARD.name), consts: { WG } },
    buffers: { x, y },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return y;
}

export function geluBackwardKernel(x: TensorInfo, dy: TensorInfo, exact = false): TensorInfo {
  const n = util.sizeFromShape(x.shape);
  const dx = allocate(x.shape);
  dispatch({
    kernel: { ...BACKWARD, ...geluVariant(exact, BACKWARD.name), consts: { WG } },
    buffers: { x, dy, dx },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return dx;
}

registerOp({
  name: 'HearthGeluBackward',
  inputs: ['x', 'dy'],
  forward: ({ x, dy }, attrs) => geluBackwardKernel(x, dy, exactOf(attrs)),
});
registerOp({
  name: 'HearthGelu',
  inputs: ['x'],
  forward: ({ x }, attrs) => geluForwardKernel(x, exactOf(attrs)),
  gradient: {
    inputsToSave: ['x'],
    grad: (dy, [x], attrs) => ({ x: () => runOp('HearthGeluBackward', { x, dy: dy as Tensor }, attrs) }),
  },
});

/** y = gelu_new(x) elementwise, or with `exact` the exact GELU x·Φ(x). */
export const gelu = (x: Tensor, exact = false): Tensor => runOp('HearthGelu', { x }, { exact });
