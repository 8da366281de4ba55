// LayerNorm over the last dim as tfjs ops with their gradients (GPT-2's ln_1, ln_2, ln_f).
//   layerNorm:     x (M, C), weight (C), bias (C) -> y (M, C), plus mean and rstd (M) saved for backward
//   addLayerNorm:  x, residual (M, C), weight, bias -> s = x + residual and y = LN(s), in one kernel: the
//                  residual add before ln_2 costs no pass of its own, forward or backward
//   backward:      dx per row (one kernel; for addLayerNorm it also adds the gradient reaching s, which is then
//                  the gradient of both x and residual); dweight and dbias together by a two-level column
//                  reduction (deterministic)
import type { NamedAttrMap, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { clone } from '@tensorflow/tfjs-core';
import layerNormSource from '../../../../shaders/layernorm.wgsl?raw';
import layerNormBackwardSource from '../../../../shaders/layernorm_backward.wgsl?raw';
import partialsSource from '../../../../shaders/layernorm_param_grad_partials.wgsl?raw';
import sumSource from '../../../../shaders/layernorm_param_grad_sum.wgsl?raw';
import { allocate, release, dispatch, ceilDiv, preferredVariant, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { include } from '../shader_source.ts';
import { ROW_LAYOUTS, rowKernel, rowsCols, rowWorkgroups, SUBGROUP_ROW_SUM, type RowLayout } from '../rows.ts';

/** How the rows are cut (rows.ts) and the weight/bias reduction laid out; every variant gives the same result (up
 * to rounding). */
export interface LayerNormVariant extends RowLayout {
  /** weight/bias reduction: columns per workgroup, threads splitting a chunk's rows, rows per chunk */
  tileCols: number;
  rowLanes: number;
  rowsPerChunk: number;
}

export const LAYERNORM_VARIANTS = {
  workgroupPerRow: { ...ROW_LAYOUTS.workgroupPerRow, tileCols: 32, rowLanes: 8, rowsPerChunk: 128 },
  threadPerRow: { ...ROW_LAYOUTS.threadPerRow, tileCols: 64, rowLanes: 1, rowsPerChunk: 128 },
  subgroupReduce: { ...ROW_LAYOUTS.subgroupReduce, tileCols: 32, rowLanes: 8, rowsPerChunk: 128 },
} satisfies Record<keyof typeof ROW_LAYOUTS, LayerNormVariant>;

export type LayerNormVariantName = keyof typeof LAYERNORM_VARIANTS;

const SUM_WG = 64;

const FORWARD_BUFFERS = {
  x: 'read',
  weight: 'read',
  bias: 'read',
  y: 'read_write',
  mean: 'read_write',
  rstd: 'read_write',
} as const;
const FORWARD = defineKernel({
  name: 'layernorm',
  source: layerNormSource,
  buffers: FORWARD_BUFFERS,
  uniforms: { rows: 'u32', cols: 'u32', eps: 'f32' },
});
/** With the residual add fused in: the input region takes the residual and writes s = x + residual. */
const ADD_FORWARD = defineKernel({
  ...FORWARD,
  buffers: { ...FORWARD_BUFFERS, residual: 'read', s: 'read_write' },
  regions: { input: include('layernorm_residual_add') },
});
const BACKWARD_BUFFERS = {
  x: 'read',
  weight: 'read',
  mean: 'read',
  rstd: 'read',
  dy: 'read',
  dx: 'read_write',
} as const;
const BACKWARD = defineKernel({
  name: 'layernorm_backward',
  source: layerNormBackwardSource,
  buffers: BACKWARD_BUFFERS,
  uniforms: { rows: 'u32', cols: 'u32' },
});
/** The backward of the fused residual add: the output region adds ds. */
const ADD_BACKWARD = defineKernel({
  ...BACKWARD,
  buffers: { ...BACKWARD_BUFFERS, ds: 'read' },
  regions: { output: include('layernorm_backward_residual_add') },
});
const PARAM_GRAD_PARTIALS = defineKernel({
  name: 'layernorm_param_grad_partials',
  source: partialsSource,
  buffers: { x: 'read', mean: 'read', rstd: 'read', dy: 'read', partials_w: 'read_write', partials_b: 'read_write' },
  uniforms: { rows: 'u32', cols: 'u32' },
});
const PARAM_GRAD_SUM = defineKernel({
  name: 'layernorm_param_grad_sum',
  source: sumSource,
  buffers: { partials_w: 'read', partials_b: 'read', dweight: 'read_write', dbias: 'read_write' },
  uniforms: { chunks: 'u32', cols: 'u32' },
});

/** [y, mean, rstd], or with a residual [s, y, mean, rstd] where s = x + residual is what was normalised. */
export function layerNormForwardKernel(
  x: TensorInfo,
  residual: TensorInfo | null,
  weight: TensorInfo,
  bias: TensorInfo,
  eps: number,
  variant: LayerNormVariant,
): TensorInfo[] {
  const [rows, cols] = rowsCols(x, 'layerNorm');
  if (weight.shape[0] !== cols || bias.shape[0] !== cols) {
    throw new Error(`layerNorm: weight and bias must have ${cols} elements`);
  }
  if (residual && (residual.shape.length !== 2 || residual.shape[0] !== rows || residual.shape[1] !== cols)) {
    throw new Error(`addLayerNorm: residual has shape (${residual.shape}), x (${x.shape})`);
  }
  const y = allocate([rows, cols]);
  const mean = allocate([rows]);
  const rstd = allocate([rows]);
  const s = residual ? allocate([rows, cols]) : null;
  const common = { x, weight, bias, y, mean, rstd };
  const uniforms = { rows, cols, eps };
  const workgroups = rowWorkgroups(rows, variant);
  if (residual) {
    dispatch({
      kernel: rowKernel(ADD_FORWARD, variant, SUBGROUP_ROW_SUM),
      buffers: { ...common, residual, s: s! },
      uniforms,
      workgroups,
    });
  } else {
    dispatch({ kernel: rowKernel(FORWARD, variant, SUBGROUP_ROW_SUM), buffers: common, uniforms, workgroups });
  }
  return s ? [s, y, mean, rstd] : [y, mean, rstd];
}

/** dx of LayerNorm at x (the normalised input), plus ds when given (the backward of addLayerNorm). */
export function layerNormBackwardXKernel(
  x: TensorInfo,
  weight: TensorInfo,
  mean: TensorInfo,
  rstd: TensorInfo,
  dy: TensorInfo,
  ds: TensorInfo | null,
  variant: LayerNormVariant,
): TensorInfo {
  const [rows, cols] = rowsCols(x, 'layerNorm');
  const dx = allocate([rows, cols]);
  const common = { x, weight, mean, rstd, dy, dx };
  const workgroups = rowWorkgroups(rows, variant);
  if (ds) {
    dispatch({
      kernel: rowKernel(ADD_BACKWARD, variant, SUBGROUP_ROW_SUM),
      buffers: { ...common, ds },
      uniforms: { rows, cols },
      workgroups,
    });
  } else {
    dispatch({
      kernel: rowKernel(BACKWARD, variant, SUBGROUP_ROW_SUM),
      buffers: common,
      uniforms: { rows, cols },
      workgroups,
    });
  }
  return dx;
}

/** [dweight, dbias] = [Σ_rows dy·x̂, Σ_rows dy], per column. */
export function layerNormParamGradKernel(
  x: TensorInfo,
  mean: TensorInfo,
  rstd: TensorInfo,
  dy: TensorInfo,
  variant: LayerNormVariant,
): [TensorInfo, TensorInfo] {
  const [rows, cols] = rowsCols(x, 'layerNorm');
  const { tileCols, rowLanes, rowsPerChunk } = variant;
  const chunks = Math.max(1, ceilDiv(rows, rowsPerChunk));
  const partialsW = allocate([chunks, cols]);
  const partialsB = allocate([chunks, cols]);
  dispatch({
    kernel: {
      ...PARAM_GRAD_PARTIALS,
      consts: { TILE_COLS: tileCols, ROW_LANES: rowLanes, ROWS_PER_CHUNK: rowsPerChunk },
    },
    buffers: { x, mean, rstd, dy, partials_w: partialsW, partials_b: partialsB },
    uniforms: { rows, cols },
    workgroups: [ceilDiv(cols, tileCols), chunks],
  });
  const dweight = allocate([cols]);
  const dbias = allocate([cols]);
  dispatch({
    kernel: { ...PARAM_GRAD_SUM, consts: { WG: SUM_WG } },
    buffers: { partials_w: partialsW, partials_b: partialsB, dweight, dbias },
    uniforms: { chunks, cols },
    workgroups: [ceilDiv(cols, SUM_WG)],
  });
  release(partialsW);
  release(partialsB);
  return [dweight, dbias];
}

const variantOf = (attrs: NamedAttrMap): LayerNormVariant => LAYERNORM_VARIANTS[attrs.variant as LayerNormVariantName];

registerOp({
  name: 'HearthLayerNormBackwardX',
  inputs: ['x', 'weight', 'mean', 'rstd', 'dy', 'ds'],
  forward: ({ x, weight, mean, rstd, dy, ds }, attrs) =>
    layerNormBackwardXKernel(x, weight, mean, rstd, dy, ds ?? null, variantOf(attrs)),
});
registerOp({
  name: 'HearthLayerNormParamGrad',
  inputs: ['x', 'mean', 'rstd', 'dy'],
  forward: ({ x, mean, rstd, dy }, attrs) => layerNormParamGradKernel(x, mean, rstd, dy, variantOf(attrs)),
});

/**
 * Gradients of x (or of s = x + residual, with ds), weight and bias. Each is computed once here: tfjs calls one
 * closure per input, each in its own tidy, and this function's own tidy disposes whatever is not returned.
 */
function layerNormGradients(
  x: Tensor,
  weight: Tensor,
  mean: Tensor,
  rstd: Tensor,
  dy: Tensor,
  ds: Tensor | null,
  variant: unknown,
) {
  const inputs: Record<string, Tensor> = { x, weight, mean, rstd, dy };
  if (ds) inputs.ds = ds;
  const dx = runOp<Tensor>('HearthLayerNormBackwardX', inputs, { variant } as NamedAttrMap);
  const [dweight, dbias] = runOp<Tensor[]>('HearthLayerNormParamGrad', { x, mean, rstd, dy }, {
    variant,
  } as NamedAttrMap);
  return { dx, dweight, dbias };
}

registerOp({
  name: 'HearthLayerNorm',
  inputs: ['x', 'weight', 'bias'],
  forward: ({ x, weight, bias }, attrs) =>
    layerNormForwardKernel(x, null, weight, bias, attrs.eps as number, variantOf(attrs)),
  gradient: {
    inputsToSave: ['x', 'weight'],
    outputsToSave: [false, true, true],
    grad: (dys, [x, weight, mean, rstd], attrs) => {
      const g = layerNormGradients(x, weight, mean, rstd, (dys as Tensor[])[0], null, attrs.variant);
      return { x: () => g.dx, weight: () => g.dweight, bias: () => g.dbias };
    },
  },
});
registerOp({
  name: 'HearthAddLayerNorm',
  inputs: ['x', 'residual', 'weight', 'bias'],
  forward: ({ x, residual, weight, bias }, attrs) =>
    layerNormForwardKernel(x, residual, weight, bias, attrs.eps as number, variantOf(attrs)),
  gradient: {
    inputsToSave: ['weight'],
    outputsToSave: [true, false, true, true],
    grad: (dys, [weight, s, mean, rstd], attrs) => {
      const [ds, dy] = dys as Tensor[];
      const g = layerNormGradients(s, weight, mean, rstd, dy, ds, attrs.variant);
      // x and residual get the same gradient; tfjs may dispose one input's gradient as it accumulates, so the
      // other gets its own handle (a clone shares the buffer).
      return { x: () => g.dx, residual: () => clone(g.dx), weight: () => g.dweight, bias: () => g.dbias };
    },
  },
});

/** y = (x − mean)/sqrt(var + eps)·weight + bias over the last dim; x (M, C). Gradients for x, weight, bias.
 * `variant` is for tests and benchmarks; by default the device chooses. */
export function layerNorm(
  x: Tensor2D,
  weight: Tensor1D,
  bias: Tensor1D,
  eps: number,
  variant: LayerNormVariantName = preferredVariant(LAYERNORM_VARIANTS),
): Tensor2D {
  const [y, mean, rstd] = runOp<Tensor[]>('HearthLayerNorm', { x, weight, bias }, { eps, variant });
  // Only the tape's saved copies of mean and rstd are needed (for the backward pass).
  mean.dispose();
  rstd.dispose();
  return y as Tensor2D;
}

/** [s, layerNorm(s)] with s = x + residual, in one kernel (and one kernel for the gradient of x and residual);
 * x, residual (M, C). Gradients for x, residual, weight and bias. */
export function addLayerNorm(
  x: Tensor2D,
  residual: Tensor2D,
  weight: Tensor1D,
  bias: Tensor1D,
  eps: number,
  variant: LayerNormVariantName = preferredVariant(LAYERNORM_VARIANTS),
): [Tensor2D, Tensor2D] {
  const [s, y, mean, rstd] = runOp<Tensor[]>('HearthAddLayerNorm', { x, residual, weight, bias }, { eps, variant });
  mean.dispose();
  rstd.dispose();
  return [s as Tensor2D, y as Tensor2D];
}
