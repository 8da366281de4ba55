// LayerNorm over the last dim as a tfjs op with its gradient (GPT-2's ln_1, ln_2, ln_f).
//   forward:  x (M, C), weight (C), bias (C) -> y (M, C), plus mean and rstd (M) saved for backward
//   backward: dx per row (one kernel); dweight, dbias by a two-level column reduction (deterministic)
import type { Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import layerNormSource from '../../../../shaders/layernorm.wgsl?raw';
import layerNormBackwardSource from '../../../../shaders/layernorm_backward.wgsl?raw';
import partialsSource from '../../../../shaders/layernorm_param_grad_partials.wgsl?raw';
import sumSource from '../../../../shaders/layernorm_param_grad_sum.wgsl?raw';
import { allocate, release, dispatch, grid1d, ceilDiv } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

const TILE_COLS = 32; // must match layernorm_param_grad_partials.wgsl
const ROWS_PER_CHUNK = 128;
const SUM_WG = 64;

function rowsCols(x: TensorInfo): [number, number] {
  if (x.shape.length !== 2) throw new Error(`layerNorm expects x of shape (M, C), got (${x.shape.join(', ')})`);
  return [x.shape[0], x.shape[1]];
}

export function layerNormForwardKernel(
  x: TensorInfo,
  weight: TensorInfo,
  bias: TensorInfo,
  eps: number,
): [TensorInfo, TensorInfo, TensorInfo] {
  const [rows, cols] = rowsCols(x);
  if (weight.shape[0] !== cols || bias.shape[0] !== cols) {
    throw new Error(`layerNorm: weight and bias must have ${cols} elements`);
  }
  const y = allocate([rows, cols]);
  const mean = allocate([rows]);
  const rstd = allocate([rows]);
  dispatch({
    kernel: { name: 'layernorm', source: layerNormSource },
    buffers: [x, weight, bias, y, mean, rstd],
    uniforms: [{ u32: rows }, { u32: cols }, { f32: eps }],
    workgroups: grid1d(rows),
  });
  return [y, mean, rstd];
}

export function layerNormBackwardXKernel(
  x: TensorInfo,
  weight: TensorInfo,
  mean: TensorInfo,
  rstd: TensorInfo,
  dy: TensorInfo,
): TensorInfo {
  const [rows, cols] = rowsCols(x);
  const dx = allocate([rows, cols]);
  dispatch({
    kernel: { name: 'layernorm_backward', source: layerNormBackwardSource },
    buffers: [x, weight, mean, rstd, dy, dx],
    uniforms: [{ u32: rows }, { u32: cols }],
    workgroups: grid1d(rows),
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
): TensorInfo {
  const [rows, cols] = rowsCols(x);
  const chunks = Math.max(1, ceilDiv(rows, ROWS_PER_CHUNK));
  const partials = allocate([chunks, cols]);
  dispatch({
    kernel: {
      name: 'layernorm_param_grad_partials',
      source: partialsSource,
      consts: { WITH_XHAT: withXhat, TILE_COLS, ROWS_PER_CHUNK },
    },
    buffers: [x, mean, rstd, dy, partials],
    uniforms: [{ u32: rows }, { u32: cols }],
    workgroups: [ceilDiv(cols, TILE_COLS), chunks],
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

registerOp({
  name: 'HearthLayerNormBackwardX',
  inputs: ['x', 'weight', 'mean', 'rstd', 'dy'],
  forward: ({ x, weight, mean, rstd, dy }) => layerNormBackwardXKernel(x, weight, mean, rstd, dy),
});
registerOp({
  name: 'HearthLayerNormParamGrad',
  inputs: ['x', 'mean', 'rstd', 'dy'],
  forward: ({ x, mean, rstd, dy }, attrs) => layerNormParamGradKernel(x, mean, rstd, dy, attrs.withXhat as boolean),
});
registerOp({
  name: 'HearthLayerNorm',
  inputs: ['x', 'weight', 'bias'],
  forward: ({ x, weight, bias }, attrs) => layerNormForwardKernel(x, weight, bias, attrs.eps as number),
  gradient: {
    inputsToSave: ['x', 'weight'],
    outputsToSave: [false, true, true],
    // Each input's gradient is its own small kernel: tfjs runs each closure in its own tidy, so one
    // kernel producing all three would have its other outputs disposed before they were asked for.
    grad: (dys, [x, weight, mean, rstd]) => {
      const dy = (dys as Tensor[])[0];
      return {
        x: () => runOp('HearthLayerNormBackwardX', { x, weight, mean, rstd, dy }),
        weight: () => runOp('HearthLayerNormParamGrad', { x, mean, rstd, dy }, { withXhat: true }),
        bias: () => runOp('HearthLayerNormParamGrad', { x, mean, rstd, dy }, { withXhat: false }),
      };
    },
  },
});

/** y = (x − mean)/sqrt(var + eps)·weight + bias over the last dim; x (M, C). Gradients for x, weight, bias. */
export function layerNorm(x: Tensor2D, weight: Tensor1D, bias: Tensor1D, eps: number): Tensor2D {
  const [y, mean, rstd] = runOp<Tensor[]>('HearthLayerNorm', { x, weight, bias }, { eps });
  // Only the tape's saved copies of mean and rstd are needed (for the backward pass).
  mean.dispose();
  rstd.dispose();
  return y as Tensor2D;
}
