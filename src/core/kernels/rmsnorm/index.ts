// RMSNorm over the last dim as tfjs ops with their gradients (Llama's input_layernorm, post_attention_layernorm,
// norm; HF's LlamaRMSNorm, computed in float32):
//   rmsNorm:     x (M, C), weight (C) -> y = x·rsqrt(mean(x²) + eps)·weight (M, C), plus rstd (M) saved for backward
//   addRmsNorm:  x, residual (M, C), weight -> s = x + residual and y = rmsNorm(s), in one kernel
//   backward:    dx per row (one kernel; for addRmsNorm it adds the gradient reaching s, which is then the gradient
//                of x and residual alike); dweight by a two-level column reduction (deterministic, no atomics)
// Rows are cut as LayerNorm's (rows.ts), with the same variants and the same shared WGSL (row sums, the fused
// residual input, the column reduction).
import type { NamedAttrMap, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { clone } from '@tensorflow/tfjs-core';
import rmsNormSource from '../../../../shaders/rmsnorm.wgsl?raw';
import rmsNormBackwardSource from '../../../../shaders/rmsnorm_backward.wgsl?raw';
import partialsSource from '../../../../shaders/rmsnorm_param_grad_partials.wgsl?raw';
import sumSource from '../../../../shaders/rmsnorm_param_grad_sum.wgsl?raw';
import { allocate, release, dispatch, ceilDiv, preferredVariant, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { include } from '../shader_source.ts';
import { rowKernel, rowsCols, rowWorkgroups, SUBGROUP_ROW_SUM } from '../rows.ts';
import { LAYERNORM_VARIANTS, type LayerNormVariant } from '../layernorm/index.ts';

/** LayerNorm's variants: the same row layouts and weight-gradient reduction. */
export const RMSNORM_VARIANTS = LAYERNORM_VARIANTS;
export type RmsNormVariantName = keyof typeof RMSNORM_VARIANTS;

const SUM_WG = 64;

const FORWARD_BUFFERS = { x: 'read', weight: 'read', y: 'read_write', rstd: 'read_write' } as const;
const FORWARD = defineKernel({
  name: 'rmsnorm',
  source: rmsNormSource,
  buffers: FORWARD_BUFFERS,
  uniforms: { rows: 'u32', cols: 'u32', eps: 'f32' },
});
/** With the residual add fused in: the input region takes the residual and writes s = x + residual. */
const ADD_FORWARD = defineKernel({
  ...FORWARD,
  buffers: { ...FORWARD_BUFFERS, residual: 'read', s: 'read_write' },
  regions: { input: include('rmsnorm_residual_add') },
});
const BACKWARD_BUFFERS = { x: 'read', weight: 'read', rstd: 'read', dy: 'read', dx: 'read_write' } as const;
const BACKWARD = defineKernel({
  name: 'rmsnorm_backward',
  source: rmsNormBackwardSource,
  buffers: BACKWARD_BUFFERS,
  uniforms: { rows: 'u32', cols: 'u32' },
});
/** The backward of the fused residual add: the output region adds ds. */
const ADD_BACKWARD = defineKernel({
  ...BACKWARD,
  buffers: { ...BACKWARD_BUFFERS, ds: 'read' },
  regions: { output: include('rmsnorm_backward_residual_add') },
});
const PARAM_GRAD_PARTIALS = defineKernel({
  name: 'rmsnorm_param_grad_partials',
  source: partialsSource,
  buffers: { x: 'read', rstd: 'read', dy: 'read', partials: 'read_write' },
  uniforms: { rows: 'u32', cols: 'u32' },
});
const PARAM_GRAD_SUM = defineKernel({
  name: 'rmsnorm_param_grad_sum',
  source: sumSource,
  buffers: { partials: 'read', dweight: 'read_write' },
  uniforms: { chunks: 'u32', cols: 'u32' },
});

/** [y, rstd], or with a residual [s, y, rstd] where s = x + residual is what was normalised. */
export function rmsNormForwardKernel(
  x: TensorInfo,
  residual: TensorInfo | null,
  weight: TensorInfo,
  eps: number,
  variant: LayerNormVariant,
): TensorInfo[] {
  const [rows, cols] = rowsCols(x, 'rmsNorm');
  if (weight.shape.length !== 1 || weight.shape[0] !== cols) {
    throw new Error(`rmsNorm: weight has shape (${weight.shape}); it must have ${cols} elements`);
  }
  if (residual && (residual.shape.length !== 2 || residual.shape[0] !== rows || residual.shape[1] !== cols)) {
    throw new Error(`addRmsNorm: residual has shape (${residual.shape}), x (${x.shape})`);
  }
  const y = allocate([rows, cols]);
  const rstd = allocate([rows]);
  const uniforms = { rows, cols, eps };
  const workgroups = rowWorkgroups(rows, variant);
  if (residual) {
    const s = allocate([rows, cols]);
    const kernel = rowKernel(ADD_FORWARD, variant, SUBGROUP_ROW_SUM);
    dispatch({ kernel, buffers: { x, weight, y, rstd, residual, s }, uniforms, workgroups });
    return [s, y, rstd];
  }
  dispatch({
    kernel: rowKernel(FORWARD, variant, SUBGROUP_ROW_SUM),
    buffers: { x, weight, y, rstd },
    uniforms,
    workgroups,
  });
  return [y, rstd];
}

/** dx of RMSNorm at x (the normalised input), plus ds when given (the backward of addRmsNorm). */
export function rmsNormBackwardXKernel(
  x: TensorInfo,
  weight: TensorInfo,
  rstd: TensorInfo,
  dy: TensorInfo,
  ds: TensorInfo | null,
  variant: LayerNormVariant,
): TensorInfo {
  const [rows, cols] = rowsCols(x, 'rmsNorm');
  const dx = allocate([rows, cols]);
  const common = { x, weight, rstd, dy, dx };
  const uniforms = { rows, cols };
  const workgroups = rowWorkgroups(rows, variant);
  if (ds) {
    const kernel = rowKernel(ADD_BACKWARD, variant, SUBGROUP_ROW_SUM);
    dispatch({ kernel, buffers: { ...common, ds }, uniforms, workgroups });
  } else {
    dispatch({ kernel: rowKernel(BACKWARD, variant, SUBGROUP_ROW_SUM), buffers: common, uniforms, workgroups });
  }
  return dx;
}

/** dweight = Σ_rows dy·x̂ per column, chunk by chunk and then over the chunks in order. */
export function rmsNormParamGradKernel(
  x: TensorInfo,
  rstd: TensorInfo,
  dy: TensorInfo,
  variant: LayerNormVariant,
): TensorInfo {
  const [rows, cols] = rowsCols(x, 'rmsNorm');
  const { tileCols, rowLanes, rowsPerChunk } = variant;
  const chunks = Math.max(1, ceilDiv(rows, rowsPerChunk));
  const partials = allocate([chunks, cols]);
  dispatch({
    kernel: {
      ...PARAM_GRAD_PARTIALS,
      consts: { TILE_COLS: tileCols, ROW_LANES: rowLanes, ROWS_PER_CHUNK: rowsPerChunk },
    },
    buffers: { x, rstd, dy, partials },
    uniforms: { rows, cols },
    workgroups: [ceilDiv(cols, tileCols), chunks],
  });
  const dweight = allocate([cols]);
  dispatch({
    kernel: { ...PARAM_GRAD_SUM, consts: { WG: SUM_WG } },
    buffers: { partials, dweight },
    uniforms: { chunks, cols },
    workgroups: [ceilDiv(cols, SUM_WG)],
  });
  release(partials);
  return dweight;
}

const variantOf = (attrs: NamedAttrMap): LayerNormVariant => RMSNORM_VARIANTS[attrs.variant as RmsNormVariantName];

registerOp({
  name: 'HearthRmsNormBackwardX',
  inputs: ['x', 'weight', 'rstd', 'dy', 'ds'],
  forward: ({ x, weight, rstd, dy, ds }, attrs) =>
    rmsNormBackwardXKernel(x, weight, rstd, dy, ds ?? null, variantOf(attrs)),
});
registerOp({
  name: 'HearthRmsNormParamGrad',
  inputs: ['x', 'rstd', 'dy'],
  forward: ({ x, rstd, dy }, attrs) => rmsNormParamGradKernel(x, rstd, dy, variantOf(attrs)),
});

/** Gradients of x (or of s = x + residual, with ds) and weight, each computed once (see layerNorm's). */
function rmsNormGradients(x: Tensor, weight: Tensor, rstd: Tensor, dy: Tensor, ds: Tensor | null, variant: unknown) {
  const inputs: Record<string, Tensor> = { x, weight, rstd, dy };
  if (ds) inputs.ds = ds;
  const attrs = { variant } as NamedAttrMap;
  const dx = runOp<Tensor>('HearthRmsNormBackwardX', inputs, attrs);
  const dweight = runOp<Tensor>('HearthRmsNormParamGrad', { x, rstd, dy }, attrs);
  return { dx, dweight };
}

registerOp({
  name: 'HearthRmsNorm',
  inputs: ['x', 'weight'],
  forward: ({ x, weight }, attrs) => rmsNormForwardKernel(x, null, weight, attrs.eps as number, variantOf(attrs)),
  gradient: {
    inputsToSave: ['x', 'weight'],
    outputsToSave: [false, true],
    grad: (dys, [x, weight, rstd], attrs) => {
      const g = rmsNormGradients(x, weight, rstd, (dys as Tensor[])[0], null, attrs.variant);
      return { x: () => g.dx, weight: () => g.dweight };
    },
  },
});
registerOp({
  name: 'HearthAddRmsNorm',
  inputs: ['x', 'residual', 'weight'],
  forward: ({ x, residual, weight }, attrs) =>
    rmsNormForwardKernel(x, residual, weight, attrs.eps as number, variantOf(attrs)),
  gradient: {
    inputsToSave: ['weight'],
    outputsToSave: [true, false, true],
    grad: (dys, [weight, s, rstd], attrs) => {
      const [ds, dy] = dys as Tensor[];
      const g = rmsNormGradients(s, weight, rstd, dy, ds, attrs.variant);
      // x and residual get the same gradient, each its own handle (a clone shares the buffer), as addLayerNorm's.
      return { x: () => g.dx, residual: () => clone(g.dx), weight: () => g.dweight };
    },
  },
});

/** y = x·rsqrt(mean(x²) + eps)·weight over the last dim; x (M, C), weight (C). Gradients for x and weight.
 * `variant` is for tests and benchmarks; by default the device chooses. */
export function rmsNorm(
  x: Tensor2D,
  weight: Tensor1D,
  eps: number,
  variant: RmsNormVariantName = preferredVariant(RMSNORM_VARIANTS),
): Tensor2D {
  const [y, rstd] = runOp<Tensor[]>('HearthRmsNorm', { x, weight }, { eps, variant });
  rstd.dispose(); // only the tape's saved copy is needed
  return y as Tensor2D;
}

/** [s, rmsNorm(s)] with s = x + residual, in one kernel (and one kernel for the gradient of x and residual);
 * x, residual (M, C). Gradients for x, residual and weight. */
export function addRmsNorm(
  x: Tensor2D,
  residual: Tensor2D,
  weight: Tensor1D,
  eps: number,
  variant: RmsNormVariantName = preferredVariant(RMSNORM_VARIANTS),
): [Tensor2D, Tensor2D] {
  const [s, y, rstd] = runOp<Tensor[]>('HearthAddRmsNorm', { x, residual, weight }, { eps, variant });
  rstd.dispose();
  return [s as Tensor2D, y as Tensor2D];
}
