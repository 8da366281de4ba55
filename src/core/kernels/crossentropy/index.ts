// Softmax cross-entropy (next-token loss) as a tfjs op with its gradient, fused: the forward keeps only
// the per-row logsumexp (M floats), never a (M, V) probability matrix; the backward writes dlogits in one pass.
//   forward:  logits (M, V), targets int32 (M) -> loss (M), plus lse (M) saved for backward
//   backward: dlogits (M, V) = dy_row · (softmax − onehot); rows with target −100 get zeros
import type { Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { zerosLike } from '@tensorflow/tfjs-core';
import forwardSource from '../../../../shaders/crossentropy.wgsl?raw';
import backwardSource from '../../../../shaders/crossentropy_backward.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, isSoftwareAdapter } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

/** Hugging Face's ignore_index: rows with this target add nothing to the loss or the gradient. */
export const IGNORE_INDEX = -100;

/** How the forward's row reduction is laid out; every variant gives the same result (up to rounding). */
export interface CrossEntropyVariant {
  /** threads sharing one row (a power of two) */
  rowThreads: number;
  rowsPerWorkgroup: number;
}

export const CROSS_ENTROPY_VARIANTS = {
  /** for GPUs: a workgroup per row, (max, sum) pairs merged in workgroup memory */
  workgroupPerRow: { rowThreads: 256, rowsPerWorkgroup: 1 },
  /** for CPU emulation (SwiftShader), where barriers dominate: one thread per row, no barriers */
  threadPerRow: { rowThreads: 1, rowsPerWorkgroup: 16 },
} satisfies Record<string, CrossEntropyVariant>;

export type CrossEntropyVariantName = keyof typeof CROSS_ENTROPY_VARIANTS;

export const defaultCrossEntropyVariant = (): CrossEntropyVariantName =>
  isSoftwareAdapter() ? 'threadPerRow' : 'workgroupPerRow';

const WG = 256; // backward, one thread per logit

function checkShapes(logits: TensorInfo, targets: TensorInfo): [number, number] {
  if (logits.shape.length !== 2) throw new Error(`softmaxCrossEntropy expects logits (M, V), got (${logits.shape})`);
  const [rows, vocab] = logits.shape;
  if (targets.shape.length !== 1 || targets.shape[0] !== rows || targets.dtype !== 'int32') {
    throw new Error(`softmaxCrossEntropy expects int32 targets of shape (${rows}), got ${targets.dtype} (${targets.shape})`);
  }
  return [rows, vocab];
}

export function crossEntropyForwardKernel(
  logits: TensorInfo,
  targets: TensorInfo,
  variant: CrossEntropyVariant,
): [TensorInfo, TensorInfo] {
  const [rows, vocab] = checkShapes(logits, targets);
  const loss = allocate([rows]);
  const lse = allocate([rows]);
  dispatch({
    kernel: {
      name: 'crossentropy',
      source: forwardSource,
      consts: { ROW_THREADS: variant.rowThreads, ROWS_PER_WG: variant.rowsPerWorkgroup },
    },
    buffers: [logits, targets, loss, lse],
    uniforms: [{ u32: rows }, { u32: vocab }],
    workgroups: grid1d(ceilDiv(rows, variant.rowsPerWorkgroup)),
  });
  return [loss, lse];
}

export function crossEntropyBackwardKernel(
  logits: TensorInfo,
  targets: TensorInfo,
  lse: TensorInfo,
  dy: TensorInfo,
): TensorInfo {
  const [rows, vocab] = checkShapes(logits, targets);
  const dlogits = allocate([rows, vocab]);
  dispatch({
    kernel: { name: 'crossentropy_backward', source: backwardSource, consts: { WG } },
    buffers: [logits, targets, lse, dy, dlogits],
    uniforms: [{ u32: rows * vocab }, { u32: vocab }],
    workgroups: grid1d(ceilDiv(rows * vocab, WG)),
  });
  return dlogits;
}

registerOp({
  name: 'HearthCrossEntropyBackward',
  inputs: ['logits', 'targets', 'lse', 'dy'],
  forward: ({ logits, targets, lse, dy }) => crossEntropyBackwardKernel(logits, targets, lse, dy),
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
  variant: CrossEntropyVariantName = defaultCrossEntropyVariant(),
): Tensor1D {
  const [loss, lse] = runOp<Tensor[]>('HearthCrossEntropy', { logits, targets }, { variant });
  lse.dispose(); // the tape keeps its own copy for the backward pass
  return loss as Tensor1D;
}
