// GELU (`gelu_new`) as a tfjs op with its gradient.
import { util, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import geluSource from '../../../../shaders/gelu.wgsl?raw';
import geluBackwardSource from '../../../../shaders/gelu_backward.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

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

export function geluForwardKernel(x: TensorInfo): TensorInfo {
  const n = util.sizeFromShape(x.shape);
  const y = allocate(x.shape);
  dispatch({
    kernel: { ...FORWARD, consts: { WG } },
    buffers: { x, y },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return y;
}

export function geluBackwardKernel(x: TensorInfo, dy: TensorInfo): TensorInfo {
  const n = util.sizeFromShape(x.shape);
  const dx = allocate(x.shape);
  dispatch({
    kernel: { ...BACKWARD, consts: { WG } },
    buffers: { x, dy, dx },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(n, WG)),
  });
  return dx;
}

registerOp({ name: 'HearthGeluBackward', inputs: ['x', 'dy'], forward: ({ x, dy }) => geluBackwardKernel(x, dy) });
registerOp({
  name: 'HearthGelu',
  inputs: ['x'],
  forward: ({ x }) => geluForwardKernel(x),
  gradient: {
    inputsToSave: ['x'],
    grad: (dy, [x]) => ({ x: () => runOp('HearthGeluBackward', { x, dy: dy as Tensor }) }),
  },
});

/** y = gelu_new(x), elementwise. */
export const gelu = (x: Tensor): Tensor => runOp('HearthGelu', { x });
