// LayerNorm over the last dim as a tfjs op with its gradient (GPT-2's ln_1, ln_2, ln_f).
//   forward:  x (M, C), weight (C), bias (C) -> y (M, C), plus mean and rstd (M) saved for backward
//   backward: dx per row (one kernel); dweight, dbias by a two-level column reduction (deterministic)
import type { NamedAttrMap, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import layerNormSource from '../../../../shaders/layernorm.wgsl?raw';
import layerNormBackwardSource from '../../../../shaders/layernorm_backward.wgsl?raw';
import partialsSource from '../../../../shaders/layernorm_param_grad_partials.wgsl?raw';
import sumSource from '../../../../shaders/layernorm_param_grad_sum.wgsl?raw';
import { allocate, release, dispatch, grid1d, ceilDiv, isSoftwareAdapter } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

/** How the row reductions are laid out; every variant gives the same result (up to rounding). */
export interface LayerNormVariant {
  /** threads sharing one row in the forward and dx kernels (a power of two) */
  rowThreads: number;
  rowsPerWorkgroup: number;
  /** weight/bias reduction: columns per workgroup, threads splitting a chunk's rows, rows per chunk */
  tileCols: number;
  rowLanes: number;
  rowsPerChunk: number;
}

export const LAYERNORM_VARIANTS = {
  /** for GPUs: a workgroup per row, sums combined in workgroup memory */
  workgroupPerRow: { rowThreads: 256, rowsPerWorkgroup: 1, tileCols: 32, rowLanes: 8, rowsPerChunk: 128 },
  /** for CPU emulation (SwiftShader), where barriers dominate: one thread per row, no barriers */
  threadPerRow: { rowThreads: 1, rowsPerWorkgroup: 16, tileCols: 64, rowLanes: 1, rowsPerChunk: 128 },
} satisfies Record<string, LayerNormVariant>;

export type LayerNormVariantName = keyof typeof LAYERNORM_VARIANTS;

export const defaultLayerNormVariant = (): LayerNormVariantName =>
  isSoftwareAdapter() ? 'threadPerRow' : 'workgroupPerRow';

const SUM_WG = 64;

const rowConsts = (v: LayerNormVariant) => ({ ROW_THREADS: v.rowThreads, ROWS_PER_WG: v.rowsPerWorkgroup });

function rowsCols(x: TensorInfo): [number, number] {
  if (x.shape.length !== 2) throw new Error(`layerNorm expects x of shape (M, C), got (${x.shape.join(', ')})`);
  return [x.shape[0], x.shape[1]];
}

export function layerNormForwardKernel(
  x: TensorInfo,
  weight: TensorInfo,
  bias: TensorInfo,
  eps: number,
  variant: LayerNormVariant,
): [TensorInfo, TensorInfo, TensorInfo] {
  const [rows, cols] = rowsCols(x);
  if (weight.shape[0] !== cols || bias.shape[0] !== cols) {
    throw new Error(`layerNorm: weight and bias must have ${cols} elements`);
  }
  const y = allocate([rows, cols]);
  const mean = allocate([rows]);
  const rstd = allocate([rows]);
  dispatch({
    kernel: { name: 'layernorm', source: layerNormSource, consts: rowConsts(variant) },
    buffers: [x, weight, bias, y, mean, rstd],
    uniforms: [{ u32: rows }, { u32: cols }, { f32: eps }],
    workgroups: grid1d(ceilDiv(rows, variant.rowsPerWorkgroup)),
  });
  return [y, mean, rstd];
}

export function layerNormBackwardXKernel(
  x: TensorInfo,
  weight: TensorInfo,
  mean: TensorInfo,
  rstd: TensorInfo,
  dy: TensorInfo,
  variant: LayerNormVariant,
): TensorInfo {
  const [rows, cols] = rowsCols(x);
  const dx = allocate([rows, cols]);
  dispatch({
    kernel: { name: 'layernorm_backward', source: layerNormBackwardSource, consts: rowConsts(variant) },
    buffers: [x, weight, mean, rstd, dy, dx],
    uniforms: [{ u32: rows }, { u32: cols }],
    workgroups: grid1d(ceilDiv(rows, variant.rowsPerWorkgroup)),
  });
  return dx;
}

/** Σ_rows dy·x̂ (withXhat, weight's gradient) or Σ_rows dy (bias's gradient), per column. */
export function layerNormParamGradKernel(
  x: TensorInfo,
  mean: TensorInfo,
  rstd: TensorInfo,
  dy: TensorInfo,
  withXhat: boolean,
  variant: LayerNormVariant,
): TensorInfo {
  const [rows, cols] = rowsCols(x);
  const { tileCols, rowLanes, rowsPerChunk } = variant;
  const chunks = Math.max(1, ceilDiv(rows, rowsPerChunk));
  const partials = allocate([chunks, cols]);
  dispatch({
    kernel: {
      name: 'layernorm_param_grad_partials',
      source: partialsSource,
      consts: { WITH_XHAT: withXhat, TILE_COLS: tileCols, ROW_LANES: rowLanes, ROWS_PER_CHUNK: rowsPerChunk },
    },
    buffers: [x, mean, rstd, dy, partials],
    uniforms: [{ u32: rows }, { u32: cols }],
    workgroups: [ceilDiv(cols, tileCols), chunks],
  });
  const out = allocate([cols]);
  dispatch({
    kernel: { name: 'layernorm_param_grad_sum', source: sumSource, consts: { WG: SUM_WG } },
    buffers: [partials, out],
    uniforms: [{ u32: chunks }, { u32: cols }],
    workgroups: [ceilDiv(cols, SUM_WG)],
  });
  release(partials);
  return out;
}

const variantOf = (attrs: NamedAttrMap): LayerNormVariant =>
  LAYERNORM_VARIANTS[attrs.variant as LayerNormVariantName];

registerOp({
  name: 'HearthLayerNormBackwardX',
  inputs: ['x', 'weight', 'mean', 'rstd', 'dy'],
  forward: ({ x, weight, mean, rstd, dy }, attrs) =>
    layerNormBackwardXKernel(x, weight, mean, rstd, dy, variantOf(attrs)),
});
registerOp({
  name: 'HearthLayerNormParamGrad',
  inputs: ['x', 'mean', 'rstd', 'dy'],
  forward: ({ x, mean, rstd, dy }, attrs) =>
    layerNormParamGradKernel(x, mean, rstd, dy, attrs.withXhat as boolean, variantOf(attrs)),
});
registerOp({
  name: 'HearthLayerNorm',
  inputs: ['x', 'weight', 'bias'],
  forward: ({ x, weight, bias }, attrs) =>
    layerNormForwardKernel(x, weight, bias, attrs.eps as number, variantOf(attrs)),
  gradient: {
    inputsToSave: ['x', 'weight'],
    outputsToSave: [false, true, true],
    // Each input's gradient is its own small kernel: tfjs runs each closure in its own tidy, so one
    // kernel producing all three would have its other outputs disposed before they were asked for.
    grad: (dys, [x, weight, mean, rstd], attrs) => {
      const dy = (dys as Tensor[])[0];
      const { variant } = attrs;
      return {
        x: () => runOp('HearthLayerNormBackwardX', { x, weight, mean, rstd, dy }, { variant }),
        weight: () => runOp('HearthLayerNormParamGrad', { x, mean, rstd, dy }, { withXhat: true, variant }),
        bias: () => runOp('HearthLayerNormParamGrad', { x, mean, rstd, dy }, { withXhat: false, variant }),
      };
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
  variant: LayerNormVariantName = defaultLayerNormVariant(),
): Tensor2D {
  const [y, mean, rstd] = runOp<Tensor[]>('HearthLayerNorm', { x, weight, bias }, { eps, variant });
  // Only the tape's saved copies of mean and rstd are needed (for the backward pass).
  mean.dispose();
  rstd.dispose();
  return y as Tensor2D;
}
