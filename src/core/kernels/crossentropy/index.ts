// Softmax cross-entropy (next-token loss) as a tfjs op with its gradient, fused: the forward keeps only
// the per-row logsumexp (M floats), never a (M, V) probability matrix; the backward writes dlogits in one pass.
//   forward:  logits (M, V), targets int32 (M) -> loss (M), plus lse (M) saved for backward
//   backward: dlogits (M, V) = dy_row · (softmax − onehot); rows with target −100 get zeros
import type { Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { zerosLike } from '@tensorflow/tfjs-core';
import forwardSource from '../../../../shaders/crossentropy.wgsl?raw';
import backwardSource from '../../../../shaders/crossentropy_backward.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

/** Hugging Face's ignore_index: rows with this target add nothing to the loss or the gradient. */
export const IGNORE_INDEX = -100;

const WG = 256;
const MAX_GRID_ROWS = 65535;

function checkShapes(logits: TensorInfo, targets: TensorInfo): [number, number] {
  if (logits.shape.length !== 2) throw new Error(`softmaxCrossEntropy expects logits (M, V), got (${logits.shape})`);
  const [rows, vocab] = logits.shape;
  if (targets.shape.length !== 1 || targets.shape[0] !== rows || targets.dtype !== 'int32') {
    throw new Error(`softmaxCrossEntropy expects int32 targets of shape (${rows}), got ${targets.dtype} (${targets.shape})`);
  }
  return [rows, vocab];
}

export function crossEntropyForwardKernel(logits: TensorInfo, targets: TensorInfo): [TensorInfo, TensorInfo] {
  const [rows, vocab] = checkShapes(logits, targets);
  const loss = allocate([rows]);
  const lse = allocate([rows]);
  dispatch({
    kernel: { name: 'crossentropy', source: forwardSource, consts: { WG } },
    buffers: [logits, targets, loss, lse],
    uniforms: [{ u32: rows }, { u32: vocab }],
    workgroups: grid1d(rows),
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
    uniforms: [{ u32: rows }, { u32: vocab }],
    workgroups: [ceilDiv(vocab, WG), Math.min(rows, MAX_GRID_ROWS)],
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
  forward: ({ logits, targets }) => crossEntropyForwardKernel(logits, targets),
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
 * −100 (Hugging Face's ignore_index) give loss 0 and zero gradient. Gradient for logits only. */
export function softmaxCrossEntropy(logits: Tensor2D, targets: Tensor1D): Tensor1D {
  const [loss, lse] = runOp<Tensor[]>('HearthCrossEntropy', { logits, targets });
  lse.dispose(); // the tape keeps its own copy for the backward pass
  return loss as Tensor1D;
}
