// Matmul with fused epilogues as tfjs ops with their gradients, on shaders/matmul.wgsl (tiled),
// shaders/matmul_rows.wgsl (a few rows: decoding) and shaders/matmul_colsum.wgsl.
//
//   forward   C = op(A)·op(B) [+ bias] [then gelu_new or exact GELU] A (M, K) | (K, M), B (K, N) | (N, K)
//   backward  dZ = dC, or gelu'(Z)·dC where Z is the pre-activation the forward saved
//             d op(A) = dZ·op(B)ᵀ,  d op(B) = op(A)ᵀ·dZ,  dbias = Σ_m dZ[m, :]
// Every backward product is the forward kernel with other transpose flags, so no transpose is materialised.
//
// Two ops, because a tfjs gradient saves a fixed list of inputs: HearthMatmul (a, b) and
// HearthMatmulBias (a, b, bias). With GELU the latter has a second output, the pre-activation Z, which
// only its gradient uses. tfjs hands that gradient a zero dy for Z, made lazily on the CPU and never
// uploaded, since we ignore it.
//
// Mixed precision (`half`): the same ops reading A and B in f16 (packed two per u32, shaders/half_cast.wgsl) and
// accumulating in f32, on matmul.wgsl with both operand regions replaced (common/matmul_load_{a,b}_f16.wgsl). tfjs
// tensors stay float32 at every op boundary: tfjs autograd wants float32 gradients shaped like each input, and sums
// the gradients of a tensor with several users, which packed data cannot take. So the op casts its operands itself,
// just before its kernels:
// - B, the weight, arrives already packed as the `bHalf` input, cast once per training step by the caller (see
//   model/mixed_ops.ts) and shared by the forward and both backward products. bHalf is made off the tape, so
//   tfjs never asks for its gradient; B itself is an input too, to receive its gradient. The half ops are
//   registered as HearthMatmulHalf and HearthMatmulHalfBias, since they save bHalf too.
// - A, the activation, and dZ are cast by the op (half_cast.wgsl, one pass: 4 bytes read, 2 written per element)
//   into scratch that is released as soon as the products are recorded. The GELU backward stays f32.
// The matmul then reads A ceil(N / 64) times and B ceil(M / 64) times (once per output tile), at 2 bytes instead
// of 4; beyond a few tiles that saves far more than the cast costs (GPT-2's N is 768 to 3072).
import type { NamedAttrMap, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../gpu/tf.ts';
import matmulSource from '../../../../shaders/matmul.wgsl?raw';
import matmulRowsSource from '../../../../shaders/matmul_rows.wgsl?raw';
import colsumSource from '../../../../shaders/matmul_colsum.wgsl?raw';
import { allocate, release, dispatch, ceilDiv, grid1d, defineKernel, type KernelSpec } from '../runtime.ts';
import { include } from '../shader_source.ts';
import type { KernelContract } from '../contract.ts';
import { registerOp, runOp } from '../op.ts';
import { castToHalfKernel, castToHalfUntracked, checkHalfOperand } from '../half/index.ts';
import { geluVariant } from '../gelu/index.ts'; // (and registers HearthGeluBackward, the GELU epilogue's gradient)

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  bias?: Tensor1D;
  /** 'gelu': GPT-2's gelu_new; 'gelu_exact': the exact (erf) GELU (GPT-NeoX) */
  activation?: 'none' | 'gelu' | 'gelu_exact';
  /** for tests and benchmarks; by default the shape chooses (see matmulVariantFor) */
  variant?: MatmulVariant;
  /** read A and B in f16, accumulating in f32 (mixed precision; the tiled variant) */
  half?: boolean;
  /** with `half`: B already cast (castToHalfUntracked), e.g. a weight cast once per step; else B is cast per call */
  bHalf?: Tensor;
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

export type Epilogue =
  | 'none'
  | 'bias'
  | 'bias_gelu'
  | 'bias_gelu_exact'
  // LoRA's fused output (common/matmul_epilogue_lora.wgsl, tiled only): + bias + s·down·loraBᵀ [then GELU]
  | 'lora'
  | 'lora_gelu'
  | 'lora_gelu_exact';

/** Output tile edge of one workgroup of the tiled kernel (matmul.wgsl's TILE). */
const TILE = 64;
/** Rows folded per colsum pass (matmul_colsum.wgsl's ROWS_PER_GROUP) and columns per workgroup (its COLS). */
const COLSUM_ROWS = 256;
const COLSUM_COLS = 64;

const MATMUL_UNIFORMS = { M: 'u32', N: 'u32', K: 'u32' } as const;
/** Each epilogue replaces the shaders' epilogue region (and so binds its own buffers after a and b). */
const EPILOGUES = {
  none: { buffers: { a: 'read', b: 'read', c: 'read_write' }, uniforms: MATMUL_UNIFORMS },
  bias: { buffers: { a: 'read', b: 'read', bias: 'read', c: 'read_write' }, uniforms: MATMUL_UNIFORMS },
  bias_gelu: {
    buffers: { a: 'read', b: 'read', bias: 'read', c: 'read_write', pre: 'read_write' },
    uniforms: MATMUL_UNIFORMS,
  },
  bias_gelu_exact: {
    buffers: { a: 'read', b: 'read', bias: 'read', c: 'read_write', pre: 'read_write' },
    uniforms: MATMUL_UNIFORMS,
  },
  lora: {
    buffers: { a: 'read', b: 'read', bias: 'read', down: 'read', loraB: 'read', c: 'read_write' },
    uniforms: MATMUL_UNIFORMS,
  },
  lora_gelu: {
    buffers: { a: 'read', b: 'read', bias: 'read', down: 'read', loraB: 'read', c: 'read_write', pre: 'read_write' },
    uniforms: MATMUL_UNIFORMS,
  },
  lora_gelu_exact: {
    buffers: { a: 'read', b: 'read', bias: 'read', down: 'read', loraB: 'read', c: 'read_write', pre: 'read_write' },
    uniforms: MATMUL_UNIFORMS,
  },
} as const satisfies Record<Epilogue, KernelContract>;

const hasGelu = (e: Epilogue) =>
  e === 'bias_gelu' || e === 'bias_gelu_exact' || e === 'lora_gelu' || e === 'lora_gelu_exact';
const isLora = (e: Epilogue) => e === 'lora' || e === 'lora_gelu' || e === 'lora_gelu_exact';

/** The adapter's part of a LoRA epilogue: down = dropout(x)·Aᵀ (M, r), loraB (N, r), and the scale s. */
export interface LoraEpilogue {
  down: TensorInfo;
  loraB: TensorInfo;
  scale: number;
}

/** The epilogue's buffers by name: a, b, [bias,] then the outputs. */
function epilogueBuffers(
  epilogue: Epilogue,
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | undefined,
  outputs: TensorInfo[],
  lora?: LoraEpilogue,
): Record<string, TensorInfo> {
  if (epilogue === 'none') return { a, b, c: outputs[0] };
  const adapter: Record<string, TensorInfo> = isLora(epilogue) ? { down: lora!.down, loraB: lora!.loraB } : {};
  return { a, b, bias: bias!, ...adapter, c: outputs[0], ...(hasGelu(epilogue) ? { pre: outputs[1] } : {}) };
}

/** The kernel spec of one epilogue on a matmul shader (matmul.wgsl or matmul_rows.wgsl); the exact GELU is the
 * GELU epilogue with its `gelu` region replaced, LoRA's GELU the LoRA epilogue with its `lora_store` replaced. */
const epilogueKernel = (name: string, source: string, epilogue: Epilogue): KernelSpec => {
  const exact = epilogue === 'bias_gelu_exact' || epilogue === 'lora_gelu_exact';
  const { regions = {}, ...named } = geluVariant(exact, name);
  const lora = isLora(epilogue);
  const store: Record<string, string> =
    lora && hasGelu(epilogue) ? { lora_store: include('matmul_epilogue_lora_gelu') } : {};
  const fragment = lora ? 'lora' : exact ? 'bias_gelu' : epilogue;
  return {
    name: lora ? `${name}_${epilogue.replace('_exact', '')}` : name,
    ...named,
    source,
    ...(EPILOGUES[epilogue] as KernelContract),
    // In this order: the gelu and lora_store regions sit in the epilogue's text.
    regions: { epilogue: include(`matmul_epilogue_${fragment}`), ...store, ...regions },
  };
};

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
 * epilogue reads.
 */
function matmulOutputs(M: number, N: number, epilogue: Epilogue, bias?: TensorInfo): TensorInfo[] {
  if (epilogue !== 'none') {
    if (!bias) throw new Error(`matmul: the ${epilogue} epilogue needs a bias`);
    if (bias.shape.length !== 1 || bias.shape[0] !== N) {
      throw new Error(`matmul: bias must have shape [${N}], got [${bias.shape}]`);
    }
  }
  const c = allocate([M, N]);
  return hasGelu(epilogue) ? [c, allocate([M, N])] : [c];
}

function checkLoraEpilogue(M: number, N: number, lora: LoraEpilogue | undefined): void {
  if (!lora) throw new Error('matmul: the LoRA epilogue needs down and loraB');
  const [dm, r] = lora.down.shape;
  const [bn, br] = lora.loraB.shape;
  if (lora.down.shape.length !== 2 || dm !== M || !(r > 0) || lora.loraB.shape.length !== 2 || bn !== N || br !== r)
    throw new Error(
      `matmul: LoRA down [${lora.down.shape}] and loraB [${lora.loraB.shape}] do not fit a [${M},${N}] output`,
    );
  if (!Number.isFinite(lora.scale)) throw new Error(`matmul: LoRA scale must be finite, got ${lora.scale}`);
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

/** One product: the transposes, the epilogue (its bias), the variant, and for f16 operands the shapes they hold. */
export interface Product {
  transposeA: boolean;
  transposeB: boolean;
  epilogue?: Epilogue;
  bias?: TensorInfo;
  /** the LoRA epilogues' adapter part */
  lora?: LoraEpilogue;
  variant?: MatmulVariant;
  /** the operands that are packed f16, each by the shape of the tensor it holds (the other is f32) */
  half?: { aShape?: number[]; bShape?: number[] };
}

/** Records the matmul kernel; returns [C] or, for 'bias_gelu', [C, Z] with Z the pre-activation (all f32). */
export function matmulKernel(a: TensorInfo, b: TensorInfo, p: Product): TensorInfo[] {
  const { transposeA, transposeB, epilogue = 'none', half } = p;
  const { M, K, N } = matmulShape(half?.aShape ?? a.shape, half?.bShape ?? b.shape, transposeA, transposeB);
  if (half?.aShape) checkHalfOperand('matmul (f16) a', a, half.aShape);
  if (half?.bShape) checkHalfOperand('matmul (f16) b', b, half.bShape);
  const tiledOnly = half || isLora(epilogue);
  if (tiledOnly && p.variant === 'rows') throw new Error("matmul: f16 operands and LoRA have the 'tiled' variant only");
  if (isLora(epilogue)) checkLoraEpilogue(M, N, p.lora);
  const outputs = matmulOutputs(M, N, epilogue, p.bias);
  if (M === 0 || N === 0) return outputs;
  const flags = { TRANSPOSE_A: transposeA, TRANSPOSE_B: transposeB };
  const rows = !tiledOnly && (p.variant ?? matmulVariantFor(M)) === 'rows';
  let kernel: KernelSpec;
  if (rows) {
    kernel = {
      ...epilogueKernel('matmul_rows', matmulRowsSource, epilogue),
      consts: { ...flags, WG: ROWS_WG, MAX_ROWS: ROWS_PER_PASS },
    };
  } else {
    const precision = half?.aShape ? (half.bShape ? '_f16' : '_a_f16') : half?.bShape ? '_b_f16' : '';
    const tiled = epilogueKernel(`matmul${precision}`, matmulSource, epilogue);
    const regions = {
      ...(half?.aShape ? { operand_a: include('matmul_load_a_f16') } : {}),
      ...(half?.bShape ? { operand_b: include('matmul_load_b_f16') } : {}),
      ...tiled.regions,
    };
    const lora: Record<string, number> =
      p.lora && isLora(epilogue) ? { R: p.lora.down.shape[1], LORA_SCALE: p.lora.scale } : {};
    kernel = { ...tiled, regions, consts: { ...flags, TILE, ...lora } };
  }
  dispatch({
    kernel,
    buffers: epilogueBuffers(epilogue, a, b, p.bias, outputs, p.lora),
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

type Operand = 'a' | 'b' | 'dz';

/**
 * Gradients of a and b from dZ, the gradient of op(a)·op(b). In f32 each backward product is the op again (so it
 * chooses its variant by its own shape); with bHalf each reads f16 operands: B as bHalf, dZ cast once here for both
 * products, A cast for dB alone.
 */
function productGradients(dz: Tensor, a: Tensor, b: Tensor, bHalf: Tensor | undefined, attrs: NamedAttrMap) {
  const { transposeA, transposeB } = flags(attrs);
  const tensors = { a, b, dz };
  // tfjs's backward tidy disposes dzHalf; the products' results are tidied the same way.
  const dzHalf = bHalf && castToHalfUntracked(dz);
  const product = (x: Operand, y: Operand, tx: boolean, ty: boolean): Tensor => {
    if (!bHalf) return runOp('HearthMatmul', { a: tensors[x], b: tensors[y] }, { transposeA: tx, transposeB: ty });
    const aHalf = x === 'a' || y === 'a' ? castToHalfKernel(a) : undefined;
    const packed = (o: Operand): TensorInfo => (o === 'a' ? aHalf! : o === 'b' ? bHalf : dzHalf!);
    const half = { aShape: tensors[x].shape, bShape: tensors[y].shape };
    const [out] = matmulKernel(packed(x), packed(y), { transposeA: tx, transposeB: ty, half });
    if (aHalf) release(aHalf);
    return tf.engine().makeTensorFromTensorInfo(out);
  };
  return {
    // A (M,K): dA = dZ·op(B)ᵀ.  A (K,M): dA = (dZ·op(B)ᵀ)ᵀ = op(B)·dZᵀ.
    a: () => (transposeA ? product('b', 'dz', transposeB, true) : product('dz', 'b', false, !transposeB)),
    // B (K,N): dB = op(A)ᵀ·dZ.  B (N,K): dB = (op(A)ᵀ·dZ)ᵀ = dZᵀ·op(A).
    b: () => (transposeB ? product('dz', 'a', true, transposeA) : product('a', 'dz', !transposeA, false)),
  };
}

/** The forward: f32, or A cast to f16 scratch for the one kernel with B already packed (bHalf). */
function forward(
  { a, b, bHalf, bias }: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
  epilogue: Epilogue,
): TensorInfo[] {
  const product = { ...flags(attrs), epilogue, bias, variant: variantOf(attrs) };
  if (!bHalf) return matmulKernel(a, b, product);
  const aHalf = castToHalfKernel(a);
  const out = matmulKernel(aHalf, bHalf, { ...product, half: { aShape: a.shape, bShape: b.shape } });
  release(aHalf);
  return out;
}

/** The epilogue of a HearthMatmulBias call, from its activation. */
const epilogueOf = (attrs: NamedAttrMap): Epilogue =>
  attrs.activation === 'gelu' ? 'bias_gelu' : attrs.activation === 'gelu_exact' ? 'bias_gelu_exact' : 'bias';

/** HearthMatmul and HearthMatmulBias, or with `half` HearthMatmulHalf and HearthMatmulHalfBias (which take bHalf). */
function registerMatmulOps(half: boolean): void {
  const name = half ? 'HearthMatmulHalf' : 'HearthMatmul';
  const operands = half ? ['a', 'b', 'bHalf'] : ['a', 'b'];
  registerOp({
    name,
    inputs: operands,
    forward: (inputs, attrs) => forward(inputs, attrs, 'none')[0],
    gradient: {
      inputsToSave: operands,
      grad: (dy, [a, b, bHalf], attrs) => productGradients(dy as Tensor, a, b, half ? bHalf : undefined, attrs),
    },
  });
  registerOp({
    name: `${name}Bias`,
    inputs: [...operands, 'bias'],
    forward: (inputs, attrs) => forward(inputs, attrs, epilogueOf(attrs)),
    gradient: {
      inputsToSave: operands,
      outputsToSave: [false, true],
      grad: (dy, saved, attrs) => {
        const [a, b] = saved;
        const bHalf = half ? saved[2] : undefined;
        const preActivation = saved[operands.length];
        const dc = Array.isArray(dy) ? dy[0] : dy;
        // Computed once here rather than in each closure below; tfjs's backward tidy disposes it. With f16
        // operands the GELU backward stays f32 (from the saved f32 pre-activation); only the products read f16.
        const epilogue = epilogueOf(attrs);
        const dz: Tensor = hasGelu(epilogue)
          ? runOp('HearthGeluBackward', { x: preActivation, dy: dc }, { exact: epilogue === 'bias_gelu_exact' })
          : dc;
        return { ...productGradients(dz, a, b, bHalf, attrs), bias: () => runOp('HearthColumnSum', { x: dz }) };
      },
    },
  });
}

registerOp({ name: 'HearthColumnSum', inputs: ['x'], forward: ({ x }) => columnSumKernel(x) });
registerMatmulOps(false);
registerMatmulOps(true);

/**
 * C = op(A)·op(B) [+ bias] [then gelu_new, or the exact GELU], A (M,K) or (K,M) when transposeA, B (K,N) or (N,K)
 * when transposeB. With `half`, A and B are read in f16 and the products accumulate in f32.
 */
export function matmul(a: Tensor2D, b: Tensor2D, opts: MatmulOptions = {}): Tensor2D {
  const attrs = { transposeA: !!opts.transposeA, transposeB: !!opts.transposeB, variant: opts.variant ?? '' };
  const gelu = opts.activation === 'gelu' || opts.activation === 'gelu_exact';
  const bHalf = opts.half ? (opts.bHalf ?? castToHalfUntracked(b)) : undefined;
  const name = bHalf ? 'HearthMatmulHalf' : 'HearthMatmul';
  const operands: Record<string, Tensor> = bHalf ? { a, b, bHalf } : { a, b };
  try {
    if (!opts.bias && !gelu) return runOp(name, operands, attrs);
    return tf.tidy(() => {
      // GELU without a bias runs the bias+GELU kernel with zeros: one shader instead of another variant.
      const bias = opts.bias ?? tf.zeros([matmulShape(a.shape, b.shape, attrs.transposeA, attrs.transposeB).N]);
      const out = runOp<Tensor | Tensor[]>(
        `${name}Bias`,
        { ...operands, bias },
        { ...attrs, activation: gelu ? opts.activation! : 'none' },
      );
      // With GELU the second output is the pre-activation; the gradient has its own saved copy.
      return (Array.isArray(out) ? out[0] : out) as Tensor2D;
    });
  } finally {
    // A tape that needs bHalf for the backward holds its own reference (tfjs saves a clone).
    if (bHalf && !opts.bHalf) bHalf.dispose();
  }
}

/** Σ_m x[m, :] of x (M, N) → (N), deterministic. */
export const columnSum = (x: Tensor2D): Tensor1D => runOp('HearthColumnSum', { x });
