// float64 references for softmax cross-entropy over rows of logits (rows, vocab), row-major.
import { IGNORE_INDEX } from '../../util/targets.ts';

function rowLogSumExp(logits: ArrayLike<number>, base: number, vocab: number): number {
  let m = -Infinity;
  for (let j = 0; j < vocab; j++) m = Math.max(m, logits[base + j]);
  let s = 0;
  for (let j = 0; j < vocab; j++) s += Math.exp(logits[base + j] - m);
  return m + Math.log(s);
}

export function crossEntropyForward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  rows: number,
  vocab: number,
): Float64Array {
  const loss = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    if (targets[r] === IGNORE_INDEX) continue;
    loss[r] = rowLogSumExp(logits, r * vocab, vocab) - logits[r * vocab + targets[r]];
  }
  return loss;
}

export function crossEntropyBackward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  vocab: number,
): Float64Array {
  const dlogits = new Float64Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    if (targets[r] === IGNORE_INDEX) continue;
    const base = r * vocab;
    const lse = rowLogSumExp(logits, base, vocab);
    for (let j = 0; j < vocab; j++) {
      dlogits[base + j] = dy[r] * (Math.exp(logits[base + j] - lse) - (j === targets[r] ? 1 : 0));
    }
  }
  return dlogits;
}
