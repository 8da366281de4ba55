// Softmax cross-entropy (next-token loss) as a tfjs op with its gradient, fused: the forward keeps only
// the per-row logsumexp (M floats), never a (M, V) probability matrix; the backward writes dlogits in one pass.
//   forward:  logits (M, V), targets int32 (M) -> loss (M), plus lse (M) saved for backward
//   backward: dlogits (M, V) = dy_row · (softmax − onehot); rows with target −100 get zeros
// crossEntropyMean also takes the mean over the counted rows in a kernel of its own (one small dispatch where a
// tfjs sum and divide took two, and their gradients as many again); its backward is the same single pass.
import type { Scalar, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { zerosLike } from '@tensorflow/tfjs-core';
import forwardSource from '../../../../shaders/crossentropy.wgsl?raw';
import backwardSource from '../../../../shaders/crossentropy_backward.wgsl?raw';
import { allocate, release, dispatch, grid1d, ceilDiv, defineKernel, preferredVariant } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { include } from '../shader_source.ts';
import { ROW_LAYOUTS, rowKernel, rowWorkgroups, type RowLayout } from '../rows.ts';
import { sumKernel } from '../sum/index.ts';
import { IGNORE_INDEX } from '../../util/targets.ts';

/** How the forward's rows are cut and their (max, sum) pairs merged: rows.ts's layouts. */
export const CROSS_ENTROPY_VARIANTS = ROW_LAYOUTS;

export type CrossEntropyVariantName = keyof typeof CROSS_ENTROPY_VARIANTS;

const WG = 256; // backward, one thread per logit

const FORWARD = defineKernel({
  name: 'crossentropy',
  source: forwardSource,
  buffers: { logits: 'read', targets: 'read', loss: 'read_write', lse: 'read_write' },
  uniforms: { rows: 'u32', vocab: 'u32' },
});
const BACKWARD = defineKernel({
  name: 'crossentropy_backward',
  source: backwardSource,
  buffers: { logits: 'read', targets: 'read', lse: 'read', dy: 'read', dlogits: 'read_write' },
  uniforms: { count: 'u32', vocab: 'u32', scale: 'f32' },
});

function checkShapes(logits: TensorInfo, targets: TensorInfo): [number, number] {
  if (logits.shape.length !== 2) throw new Error(`softmaxCrossEntropy expects logits (M, V), got (${logits.shape})`);
  const [rows, vocab] = logits.shape;
  if (targets.shape.length !== 1 || targets.shape[0] !== rows || targets.dtype !== 'int32') {
    throw new Error(
      `softmaxCrossEntropy expects int32 targets of shape (${rows}), got ${targets.dtype} (${targets.shape})`,
    );
  }
  return [rows, vocab];
}

export function crossEntropyForwardKernel(
  logits: TensorInfo,
  targets: TensorInfo,
  variant: RowLayout,
): [TensorInfo, TensorInfo] {
  const [rows, vocab] = checkShapes(logits, targets);
  const loss = allocate([rows]);
  const lse = allocate([rows]);
  dispatch({
    kernel: rowKernel({ ...FORWARD, consts: { IGNORE_INDEX } }, variant, {
      row_merge: include('crossentropy_merge_subgroup'),
    }),
    buffers: { logits, targets, loss, lse },
    uniforms: { rows, vocab },
    workgroups: rowWorkgroups(rows, variant),
  });
  return [loss, lse];
}

/** [mean loss (scalar), lse]: the per-row losses summed and multiplied by 1/count in one small kernel. */
export function crossEntropyMeanKernel(
  logits: TensorInfo,
  targets: TensorInfo,
  count: number,
  variant: RowLayout,
): [TensorInfo, TensorInfo] {
  const [rows] = checkShapes(logits, targets);
  const [loss, lse] = crossEntropyForwardKernel(logits, targets, variant);
  const mean = sumKernel(loss, rows, { name: 'crossentropy_mean', scale: 1 / Math.max(count, 1) });
  release(loss);
  return [mean, lse];
}

/** dlogits for per-row losses (dy of shape (rows)), or with `meanOf` for the mean over meanOf rows (dy a scalar). */
export function crossEntropyBackwardKernel(
  logits: TensorInfo,
  targets: TensorInfo,
  lse: TensorInfo,
  dy: TensorInfo,
  meanOf: number | null = null,
): TensorInfo {
  const [rows, vocab] = checkShapes(logits, targets);
  const dlogits = allocate([rows, vocab]);
  dispatch({
    kernel: { ...BACKWARD, consts: { WG, MEAN: meanOf !== null, IGNORE_INDEX } },
    buffers: { logits, targets, lse, dy, dlogits },
    uniforms: { count: rows * vocab, vocab, scale: meanOf !== null ? 1 / Math.max(meanOf, 1) : 1 },
    workgroups: grid1d(ceilDiv(rows * vocab, WG)),
  });
  return dlogits;
}

registerOp({
  name: 'HearthCrossEntropyBackward',
  inputs: ['logits', 'targets', 'lse', 'dy'],
  forward: ({ logits, targets, lse, dy }, attrs) =>
    crossEntropyBackwardKernel(logits, targets, lse, dy, (attrs.meanOf as number | undefined) ?? null),
});
registerOp({
  name: 'HearthCrossEntropyMean',
  inputs: ['logits', 'targets'],
  forward: ({ logits, targets }, attrs) =>
    crossEntropyMeanKernel(
      logits,
      targets,
      attrs.count as number,
      CROSS_ENTROPY_VARIANTS[attrs.variant as CrossEntropyVariantName],
    ),
  gradient: {
    inputsToSave: ['logits', 'targets'],
    outputsToSave: [false, true],
    grad: (dys, [logits, targets, lse], attrs) => {
      const dy = (dys as Tensor[])[0];
      return {
        logits: () =>
          runOp('HearthCrossEntropyBackward', { logits, targets, lse, dy }, { meanOf: attrs.count as number }),
        targets: () => zerosLike(targets),
      };
    },
  },
});
registerOp({
  name: 'HearthCrossEntropy',
  inputs: ['logits', 'targets'],
  forward: ({ logits, targets }, attrs) =>
    crossEntropyForwardKernel(logits, targets, CROSS_ENTROPY_VARIANTS[attrs.variant as CrossEntropyVariantName]),
  gradient: {
    inputsToSave: ['logits', 'targets'],
    outputsToSave: [false, true],
    grad: (dys, [logits, targets, lse]) => {
      const dy = (dys as Tensor[])[0];
      return {
        logits: () => runOp('HearthCrossEntropyBackward', { logits, targets, lse, dy }),
        targets: () => zerosLike(targets),
      };
    },
  },
});

/** Per-row next-token loss −log softmax(logits)[target]; logits (M, V), targets int32 (M). Rows whose target is
 * −100 (Hugging Face's ignore_index) give loss 0 and zero gradient. Gradient for logits only.
 * `variant` is for tests and benchmarks; by default the device chooses. */
export function softmaxCrossEntropy(
  logits: Tensor2D,
  targets: Tensor1D,
  variant: CrossEntropyVariantName = preferredVariant(CROSS_ENTROPY_VARIANTS),
): Tensor1D {
  const [loss, lse] = runOp<Tensor[]>('HearthCrossEntropy', { logits, targets }, { variant });
  lse.dispose(); // the tape keeps its own copy for the backward pass
  return loss as Tensor1D;
}

/** The mean of softmaxCrossEntropy's rows over `count` (the targets that are not −100; the caller counts them on
 * the CPU, where the targets come from), as a scalar. Gradient for logits only. */
export function crossEntropyMean(
  logits: Tensor2D,
  targets: Tensor1D,
  count: number,
  variant: CrossEntropyVariantName = preferredVariant(CROSS_ENTROPY_VARIANTS),
): Scalar {
  const [mean, lse] = runOp<Tensor[]>('HearthCrossEntropyMean', { logits, targets }, { count, variant });
  lse.dispose();
  return mean as Scalar;
}
