// Mixed-precision matmul: f16 operands (packed two per u32), f32 accumulation and f32 results, as tfjs ops with
// their gradients, on shaders/matmul.wgsl with its operands region replaced by shaders/matmul_operands_f16.wgsl.
// The same products and epilogues as index.ts:
//
//   forward   C = op(A)·op(B) [+ bias] [then gelu_new]
//   backward  dZ = dC, or gelu'(Z)·dC in f32 from the saved pre-activation Z; then dZ in f16 and
//             d op(A) = dZ·op(B)ᵀ,  d op(B) = op(A)ᵀ·dZ  (both f16 operands),  dbias = Σ_m dZ[m, :] (f32)
//
// Where the casts happen. tfjs tensors stay float32 at every op boundary: tfjs autograd wants float32 gradients
// shaped like each input, and sums the gradients of a tensor with several users, which packed data cannot take.
// So each op casts its operands itself, just before its matmul kernels:
// - B, the weight, arrives already packed as the `bHalf` input, cast once per training step by the caller (see
//   model/mixed_ops.ts) and shared by the forward and both backward products. bHalf is made off the tape, so
//   tfjs never asks for its gradient; B itself is an input too, to receive its gradient.
// - A, the activation, and dZ are cast by the op (half_cast.wgsl, one pass: 4 bytes read, 2 written per element)
//   into scratch that is released as soon as the products are recorded.
// The matmul then reads A ceil(N / 64) times and B ceil(M / 64) times (once per output tile), at 2 bytes instead
// of 4; beyond a few tiles that saves far more than the cast costs (GPT-2's N is 768 to 3072).
import type { NamedAttrMap, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../gpu/tf.ts';
import matmulSource from '../../../../shaders/matmul.wgsl?raw';
import { release, dispatch, ceilDiv } from '../runtime.ts';
import { include } from '../shader_source.ts';
import { registerOp, runOp } from '../op.ts';
import { castToHalfKernel, castToHalfUntracked, checkHalfOperand } from '../half/index.ts';
import {
  matmulOutputs,
  matmulShape,
  epilogueBuffers,
  epilogueKernel,
  TILE,
  type Epilogue,
  type MatmulOptions,
} from './index.ts';
import '../gelu/index.ts'; // registers HearthGeluBackward, used by the GELU epilogue's gradient

/**
 * Records the f16-operand matmul: aHalf and bHalf are packed f16 holding tensors of aShape and bShape. Returns
 * [C] or, for 'bias_gelu', [C, Z] (f32).
 */
export function matmulHalfKernel(
  aHalf: TensorInfo,
  aShape: number[],
  bHalf: TensorInfo,
  bShape: number[],
  transposeA: boolean,
  transposeB: boolean,
  epilogue: Epilogue = 'none',
  bias?: TensorInfo,
): TensorInfo[] {
  const { M, K, N } = matmulShape(aShape, bShape, transposeA, transposeB);
  checkHalfOperand('matmul (f16) a', aHalf, aShape);
  checkHalfOperand('matmul (f16) b', bHalf, bShape);
  const outputs = matmulOutputs(M, N, epilogue, bias);
  if (M === 0 || N === 0) return outputs;
  const kernel = epilogueKernel('matmul_f16', matmulSource, epilogue);
  dispatch({
    kernel: {
      ...kernel,
      regions: { ...kernel.regions, operands: include('matmul_operands_f16') },
      consts: { TRANSPOSE_A: transposeA, TRANSPOSE_B: transposeB, TILE },
    },
    buffers: epilogueBuffers(epilogue, aHalf, bHalf, bias, outputs),
    uniforms: { M, N, K },
    workgroups: [ceilDiv(N, TILE), ceilDiv(M, TILE)],
  });
  return outputs;
}

const flags = (attrs: NamedAttrMap) => ({
  transposeA: attrs.transposeA === true,
  transposeB: attrs.transposeB === true,
});

/** op(x)·op(y) of two packed operands, as a float32 tensor (inside a gradient: tfjs's tidy owns it). */
function product(x: TensorInfo, xShape: number[], y: TensorInfo, yShape: number[], tx: boolean, ty: boolean): Tensor {
  return tf.engine().makeTensorFromTensorInfo(matmulHalfKernel(x, xShape, y, yShape, tx, ty)[0]);
}

/** Gradients of a and b from dZ (f32): both products read dZ, B and A in f16. */
function productGradients(dz: Tensor, a: Tensor, b: Tensor, bHalf: Tensor, attrs: NamedAttrMap) {
  const { transposeA, transposeB } = flags(attrs);
  // dZ is cast once here for both products; tfjs's backward tidy disposes it.
  const dzHalf = castToHalfUntracked(dz);
  return {
    // A (M,K): dA = dZ·op(B)ᵀ.  A (K,M): dA = op(B)·dZᵀ.
    a: () =>
      transposeA
        ? product(bHalf, b.shape, dzHalf, dz.shape, transposeB, true)
        : product(dzHalf, dz.shape, bHalf, b.shape, false, !transposeB),
    // B (K,N): dB = op(A)ᵀ·dZ.  B (N,K): dB = dZᵀ·op(A).
    b: () => {
      const aHalf = castToHalfKernel(a);
      const db = transposeB
        ? product(dzHalf, dz.shape, aHalf, a.shape, true, transposeA)
        : product(aHalf, a.shape, dzHalf, dz.shape, !transposeA, false);
      release(aHalf);
      return db;
    },
  };
}

/** The forward: A cast to f16 scratch for the one kernel, B already packed. */
function forward(
  a: TensorInfo,
  b: TensorInfo,
  bHalf: TensorInfo,
  attrs: NamedAttrMap,
  epilogue: Epilogue,
  bias?: TensorInfo,
) {
  const { transposeA, transposeB } = flags(attrs);
  const aHalf = castToHalfKernel(a);
  const out = matmulHalfKernel(aHalf, a.shape, bHalf, b.shape, transposeA, transposeB, epilogue, bias);
  release(aHalf);
  return out;
}

registerOp({
  name: 'HearthMatmulHalf',
  inputs: ['a', 'b', 'bHalf'],
  forward: ({ a, b, bHalf }, attrs) => forward(a, b, bHalf, attrs, 'none')[0],
  gradient: {
    inputsToSave: ['a', 'b', 'bHalf'],
    grad: (dy, [a, b, bHalf], attrs) => productGradients(dy as Tensor, a, b, bHalf, attrs),
  },
});

registerOp({
  name: 'HearthMatmulHalfBias',
  inputs: ['a', 'b', 'bHalf', 'bias'],
  forward: ({ a, b, bHalf, bias }, attrs) =>
    forward(a, b, bHalf, attrs, attrs.activation === 'gelu' ? 'bias_gelu' : 'bias', bias),
  gradient: {
    inputsToSave: ['a', 'b', 'bHalf'],
    outputsToSave: [false, true],
    grad: (dy, [a, b, bHalf, preActivation], attrs) => {
      const dc = Array.isArray(dy) ? dy[0] : dy;
      // The GELU backward stays in f32 (from the saved f32 pre-activation); only the products read f16.
      const dz: Tensor = attrs.activation === 'gelu' ? runOp('HearthGeluBackward', { x: preActivation, dy: dc }) : dc;
      return { ...productGradients(dz, a, b, bHalf, attrs), bias: () => runOp('HearthColumnSum', { x: dz }) };
    },
  },
});

/**
 * C = op(A)·op(B) [+ bias] [then gelu_new] reading A and B in f16, accumulating in f32. `bHalf` is B already
 * cast (castToHalfUntracked); without it B is cast for this call alone.
 */
export function matmulHalf(a: Tensor2D, b: Tensor2D, opts: MatmulOptions & { bHalf?: Tensor } = {}): Tensor2D {
  const attrs = { transposeA: !!opts.transposeA, transposeB: !!opts.transposeB };
  const gelu = opts.activation === 'gelu';
  const bHalf = opts.bHalf ?? castToHalfUntracked(b);
  try {
    if (!opts.bias && !gelu) return runOp('HearthMatmulHalf', { a, b, bHalf }, attrs);
    return tf.tidy(() => {
      const bias =
        opts.bias ?? (tf.zeros([matmulShape(a.shape, b.shape, attrs.transposeA, attrs.transposeB).N]) as Tensor1D);
      const out = runOp<Tensor | Tensor[]>(
        'HearthMatmulHalfBias',
        { a, b, bHalf, bias },
        { ...attrs, activation: gelu ? 'gelu' : 'none' },
      );
      return (Array.isArray(out) ? out[0] : out) as Tensor2D;
    });
  } finally {
    // A tape that needs bHalf for the backward holds its own reference (tfjs saves a clone).
    if (!opts.bHalf) bHalf.dispose();
  }
}
