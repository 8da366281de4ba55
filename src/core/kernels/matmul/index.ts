// Matmul with fused epilogues as tfjs ops with their gradients, on shaders/matmul.wgsl (tiled),
// shaders/matmul_rows.wgsl (a few rows: decoding) and shaders/matmul_colsum.wgsl.
//
//   forward   C = op(A)·op(B) [+ bias] [then gelu_new]         A (M, K) | (K, M), B (K, N) | (N, K)
//   backward  dZ = dC, or gelu'(Z)·dC where Z is the pre-activation the forward saved
//             d op(A) = dZ·op(B)ᵀ,  d op(B) = op(A)ᵀ·dZ,  dbias = Σ_m dZ[m, :]
// Every backward product is the forward kernel with other transpose flags, so no transpose is materialised.
//
// Two ops, because a tfjs gradient saves a fixed list of inputs: HearthMatmul (a, b) and
// HearthMatmulBias (a, b, bias). With GELU the latter has a second output, the pre-activation Z, which
// only its gradient uses. tfjs hands that gradient a zero dy for Z, made lazily on the CPU and never
// uploaded, since we ignore it.
import type { NamedAttrMap, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../gpu/tf.ts';
import matmulSource from '../../../../shaders/matmul.wgsl?raw';
import matmulRowsSource from '../../../../shaders/matmul_rows.wgsl?raw';
import colsumSource from '../../../../shaders/matmul_colsum.wgsl?raw';
import { allocate, release, dispatch, ceilDiv, grid1d, defineKernel, type KernelSpec } from '../runtime.ts';
import { include } from '../shader_source.ts';
import type { KernelContract } from '../contract.ts';
import { registerOp, runOp } from '../op.ts';
import '../gelu/index.ts'; // registers HearthGeluBackward, used by the GELU epilogue's gradient

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  bias?: Tensor1D;
  activation?: 'none' | 'gelu';
  /** for tests and benchmarks; by default the shape chooses (see matmulVariantFor) */
  variant?: MatmulVariant;
}

/**
 * 'tiled': 64×64 output tiles staged through workgroup memory, for everything a training step multiplies.
 * 'rows': one output column per thread with up to ROWS_PER_PASS rows' sums in registers, for the few rows of a
 * decode step, where a 64-row tile would be mostly padding and reading the weights once is the whole cost.
 */
export type MatmulVariant = 'tiled' | 'rows';

/** Rows the 'rows' variant keeps in registers per pass over op(B) (matmul_rows.wgsl's MAX_ROWS). */
export const ROWS_PER_PASS = 8;
const ROWS_WG = 64;

/** The variant for a product with M rows: 'rows' up to one pass of it, 'tiled' beyond. */
export const matmulVariantFor = (M: number): MatmulVariant => (M <= ROWS_PER_PASS ? 'rows' : 'tiled');

export type Epilogue = 'none' | 'bias' | 'bias_gelu';

/** Output tile edge of one workgroup of the tiled kernel (matmul.wgsl's TILE). */
export const TILE = 64;
/** Rows folded per colsum pass (matmul_colsum.wgsl's ROWS_PER_GROUP) and columns per workgroup (its COLS). */
const COLSUM_ROWS = 256;
const COLSUM_COLS = 64;

const MATMUL_UNIFORMS = { M: 'u32', N: 'u32', K: 'u32' } as const;
/** Each epilogue replaces the shaders' epilogue region (and so binds its own buffers after a and b). */
export const EPILOGUES = {
  none: { buffers: { a: 'read', b: 'read', c: 'read_write' }, uniforms: MATMUL_UNIFORMS },
  bias: { buffers: { a: 'read', b: 'read', bias: 'read', c: 'read_write' }, uniforms: MATMUL_UNIFORMS },
  bias_gelu: {
    buffers: { a: 'read', b: 'read', bias: 'read', c: 'read_write', pre: 'read_write' },
    uniforms: MATMUL_UNIFORMS,
  },
} as const satisfies Record<Epilogue, KernelContract>;

/** The epilogue's buffers by name: a, b, [bias,] then the outputs. */
export function epilogueBuffers(
  epilogue: Epilogue,
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | undefined,
  outputs: TensorInfo[],
): Record<string, TensorInfo> {
  if (epilogue === 'none') return { a, b, c: outputs[0] };
  return { a, b, bias: bias!, c: outputs[0], ...(epilogue === 'bias_gelu' ? { pre: outputs[1] } : {}) };
}

/** The kernel spec of one epilogue on a matmul shader (matmul.wgsl or matmul_rows.wgsl). */
export const epilogueKernel = (name: string, source: string, epilogue: Epilogue): KernelSpec => ({
  name,
  source,
  ...(EPILOGUES[epilogue] as KernelContract),
  regions: { epilogue: include(`matmul_epilogue_${epilogue}`) },
});

const COLSUM = defineKernel({
  name: 'matmul_colsum',
  source: colsumSource,
  buffers: { x: 'read', partial: 'read_write' },
  uniforms: { rows: 'u32', cols: 'u32' },
});

export interface MatmulShape {
  M: number;
  K: number;
  N: number;
}

/**
 * The product's outputs, (M, N), and for bias + GELU also the pre-activation its gradient needs; checks the bias an
 * epilogue reads. Shared by the f32 and f16-operand kernels.
 */
export function matmulOutputs(M: number, N: number, epilogue: Epilogue, bias?: TensorInfo): TensorInfo[] {
  if (epilogue !== 'none') {
    if (!bias) throw new Error(`matmul: the ${epilogue} epilogue needs a bias`);
    if (bias.shape.length !== 1 || bias.shape[0] !== N) {
      throw new Error(`matmul: bias must have shape [${N}], got [${bias.shape}]`);
    }
  }
  const c = allocate([M, N]);
  return epilogue === 'bias_gelu' ? [c, allocate([M, N])] : [c];
}

export function matmulShape(aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean): MatmulShape {
  if (aShape.length !== 2 || bShape.length !== 2) {
    throw new Error(`matmul: a and b must be 2-D, got [${aShape}] and [${bShape}]`);
  }
  const [M, K] = transposeA ? [aShape[1], aShape[0]] : aShape;
  const [Kb, N] = transposeB ? [bShape[1], bShape[0]] : bShape;
  if (K !== Kb) {
    throw new Error(
      `matmul: inner dimensions differ, op(a) is [${M},${K}] and op(b) is [${Kb},${N}] ` +
        `(transposeA ${transposeA}, transposeB ${transposeB})`,
    );
  }
  return { M, K, N };
}

/**
 * Records the matmul kernel; returns [C] or, for 'bias_gelu', [C, Z] with Z the pre-activation.
 * `bias` is required for the 'bias' and 'bias_gelu' epilogues.
 */
export function matmulKernel(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue: Epilogue = 'none',
  bias?: TensorInfo,
  variant?: MatmulVariant,
): TensorInfo[] {
  const { M, K, N } = matmulShape(a.shape, b.shape, transposeA, transposeB);
  const outputs = matmulOutputs(M, N, epilogue, bias);
  if (M === 0 || N === 0) return outputs;
  const rows = (variant ?? matmulVariantFor(M)) === 'rows';
  dispatch({
    kernel: {
      ...(rows
        ? epilogueKernel('matmul_rows', matmulRowsSource, epilogue)
        : epilogueKernel('matmul', matmulSource, epilogue)),
      consts: rows
        ? { TRANSPOSE_A: transposeA, TRANSPOSE_B: transposeB, WG: ROWS_WG, MAX_ROWS: ROWS_PER_PASS }
        : { TRANSPOSE_A: transposeA, TRANSPOSE_B: transposeB, TILE },
    },
    buffers: epilogueBuffers(epilogue, a, b, bias, outputs),
    uniforms: { M, N, K },
    workgroups: rows ? grid1d(ceilDiv(N, ROWS_WG)) : [ceilDiv(N, TILE), ceilDiv(M, TILE)],
  });
  return outputs;
}

/** Σ over rows of x (rows, cols) → (cols), in passes of COLSUM_ROWS rows; deterministic. */
export function columnSumKernel(x: TensorInfo): TensorInfo {
  if (x.shape.length !== 2) throw new Error(`columnSum: x must be 2-D, got [${x.shape}]`);
  const [rows, cols] = x.shape;
  let current = x;
  let currentRows = rows;
  do {
    const outRows = Math.max(1, ceilDiv(currentRows, COLSUM_ROWS));
    const out = allocate(outRows === 1 ? [cols] : [outRows, cols]);
    dispatch({
      kernel: { ...COLSUM, consts: { COLS: COLSUM_COLS, ROWS_PER_GROUP: COLSUM_ROWS } },
      buffers: { x: current, partial: out },
      uniforms: { rows: currentRows, cols },
      workgroups: [ceilDiv(cols, COLSUM_COLS), outRows],
    });
    if (current !== x) release(current);
    current = out;
    currentRows = outRows;
  } while (currentRows > 1);
  return current;
}

const flags = (attrs: NamedAttrMap) => ({
  transposeA: attrs.transposeA === true,
  transposeB: attrs.transposeB === true,
});

const variantOf = (attrs: NamedAttrMap) => (attrs.variant as MatmulVariant | undefined) || undefined;

// The backward products have other shapes than the forward, so each chooses its own variant.
const product = (a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor2D =>
  runOp('HearthMatmul', { a, b }, { transposeA, transposeB });

/** Gradients of a and b from dZ, the gradient of op(a)·op(b). */
function productGradients(dz: Tensor, a: Tensor, b: Tensor, attrs: NamedAttrMap) {
  const { transposeA, transposeB } = flags(attrs);
  return {
    // A (M,K): dA = dZ·op(B)ᵀ.  A (K,M): dA = (dZ·op(B)ᵀ)ᵀ = op(B)·dZᵀ.
    a: () => (transposeA ? product(b, dz, transposeB, true) : product(dz, b, false, !transposeB)),
    // B (K,N): dB = op(A)ᵀ·dZ.  B (N,K): dB = (op(A)ᵀ·dZ)ᵀ = dZᵀ·op(A).
    b: () => (transposeB ? product(dz, a, true, transposeA) : product(a, dz, !transposeA, false)),
  };
}

registerOp({ name: 'HearthColumnSum', inputs: ['x'], forward: ({ x }) => columnSumKernel(x) });

registerOp({
  name: 'HearthMatmul',
  inputs: ['a', 'b'],
  forward: ({ a, b }, attrs) => {
    const { transposeA, transposeB } = flags(attrs);
    return matmulKernel(a, b, transposeA, transposeB, 'none', undefined, variantOf(attrs))[0];
  },
  gradient: {
    inputsToSave: ['a', 'b'],
    grad: (dy, [a, b], attrs) => productGradients(dy as Tensor, a, b, attrs),
  },
});

registerOp({
  name: 'HearthMatmulBias',
  inputs: ['a', 'b', 'bias'],
  forward: ({ a, b, bias }, attrs) => {
    const { transposeA, transposeB } = flags(attrs);
    return matmulKernel(
      a,
      b,
      transposeA,
      transposeB,
      attrs.activation === 'gelu' ? 'bias_gelu' : 'bias',
      bias,
      variantOf(attrs),
    );
  },
  gradient: {
    inputsToSave: ['a', 'b'],
    outputsToSave: [false, true],
    grad: (dy, [a, b, preActivation], attrs) => {
      const dc = Array.isArray(dy) ? dy[0] : dy;
      // Computed once here rather than in each closure below; tfjs's backward tidy disposes it.
      const dz: Tensor = attrs.activation === 'gelu' ? runOp('HearthGeluBackward', { x: preActivation, dy: dc }) : dc;
      return { ...productGradients(dz, a, b, attrs), bias: () => runOp('HearthColumnSum', { x: dz }) };
    },
  },
});

/** C = op(A)·op(B) [+ bias] [then gelu_new], A (M,K) or (K,M) when transposeA, B (K,N) or (N,K) when transposeB. */
export function matmul(a: Tensor2D, b: Tensor2D, opts: MatmulOptions = {}): Tensor2D {
  const attrs = { transposeA: !!opts.transposeA, transposeB: !!opts.transposeB, variant: opts.variant ?? '' };
  const gelu = opts.activation === 'gelu';
  if (!opts.bias && !gelu) return runOp('HearthMatmul', { a, b }, attrs);
  return tf.tidy(() => {
    // GELU without a bias runs the bias+GELU kernel with zeros: one shader instead of another variant.
    const bias = opts.bias ?? tf.zeros([matmulShape(a.shape, b.shape, attrs.transposeA, attrs.transposeB).N]);
    const out = runOp<Tensor | Tensor[]>(
      'HearthMatmulBias',
      { a, b, bias },
      { ...attrs, activation: gelu ? 'gelu' : 'none' },
    );
    // With GELU the second output is the pre-activation; the gradient has its own saved copy.
    return (Array.isArray(out) ? out[0] : out) as Tensor2D;
  });
}

/** Σ_m x[m, :] of x (M, N) → (N), deterministic. */
export const columnSum = (x: Tensor2D): Tensor1D => runOp('HearthColumnSum', { x });
