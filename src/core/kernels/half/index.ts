// Packed f16 data for mixed precision: f16 values two per u32 (shaders/half_cast.wgsl), converted with WGSL's
// core pack2x16float/unpack2x16float, so every adapter can read half-size operands without `shader-f16`.
//
// A packed tensor is an int32 tensor of ceil(n / 2) words standing for n f16 values; its logical shape travels
// separately (the kernels that read it are told). It is never a tfjs float tensor: tfjs autograd wants float32
// gradients shaped like each input, so packed data stays inside our ops and at the edges of the tape.
import { util, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import { tf, webgpuBackend } from '../../gpu/tf.ts';
import castSource from '../../../../shaders/half_cast.wgsl?raw';
import { allocate, bufferOf, dispatch, grid1d, ceilDiv, poisoningOutputs, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

const WG = 256;
const CAST = defineKernel({
  name: 'half_cast',
  source: castSource,
  buffers: { x: 'read', packed: 'read_write' },
  uniforms: { n: 'u32' },
});
/** Two f16 NaNs: what a packed output holds before a kernel writes it, in tests. */
const PACKED_NAN = 0x7e007e00;

export const halfWords = (n: number): number => Math.ceil(n / 2);

/** Storage for n packed f16 values (at least one word, so that a binding is never empty). */
export function allocateHalf(n: number): TensorInfo {
  const info = allocate([Math.max(1, halfWords(n))], 'int32');
  if (poisoningOutputs()) {
    const buf = bufferOf(info);
    const queue = (webgpuBackend() as unknown as { queue: GPUQueue }).queue;
    queue.writeBuffer(buf, 0, new Uint32Array(buf.size / 4).fill(PACKED_NAN));
  }
  return info;
}

/** x (any shape, float32) as packed f16: ceil(size / 2) words; overflow becomes ±inf, NaN stays NaN. */
export function castToHalfKernel(x: TensorInfo): TensorInfo {
  const n = util.sizeFromShape(x.shape);
  const out = allocateHalf(n);
  if (n === 0) return out;
  dispatch({
    kernel: { ...CAST, consts: { WG } },
    buffers: { x, packed: out },
    uniforms: { n },
    workgroups: grid1d(ceilDiv(halfWords(n), WG)),
  });
  return out;
}

/** Checks that `packed` holds the f16 values of a tensor of `shape`. */
export function checkHalfOperand(what: string, packed: TensorInfo, shape: number[]): void {
  const want = Math.max(1, halfWords(util.sizeFromShape(shape)));
  if (packed.dtype !== 'int32' || util.sizeFromShape(packed.shape) !== want) {
    throw new Error(
      `${what}: packed f16 data for shape [${shape}] must be ${want} int32 words, got ${packed.dtype} [${packed.shape}]`,
    );
  }
}

registerOp({ name: 'HearthCastToHalf', inputs: ['x'], forward: ({ x }) => castToHalfKernel(x) });

/** x as packed f16 (an int32 tensor of ceil(size / 2) words); not differentiable. */
export function castToHalf(x: Tensor): Tensor {
  return runOp('HearthCastToHalf', { x });
}

/**
 * x as packed f16, made outside tfjs's tape: an operand that an op takes beside x itself (which carries the
 * gradient). Being off the tape, tfjs never asks for its gradient.
 */
export function castToHalfUntracked(x: Tensor): Tensor {
  return tf.engine().makeTensorFromTensorInfo(castToHalfKernel(x));
}
