// float64 reference for dropout: the masks of seeds.ts applied to x, as PyTorch's nn.Dropout in training mode.
import { dropoutBits, dropoutRowKey, dropoutThreshold } from './seeds.ts';

/** Whether element `index` of row `group` is kept, at the threshold dropoutThreshold(p) gives. */
export function keeps(seed: number, group: number, index: number, threshold: number): boolean {
  return dropoutBits(dropoutRowKey(seed, group), index) >= threshold;
}

/**
 * Inverted dropout of x viewed as rows of `inner` elements: kept values scaled by 1/(1 − p), the rest 0 (PyTorch's
 * nn.Dropout in training mode). Its gradient is the same function applied to dy.
 */
export function dropoutForward(x: ArrayLike<number>, inner: number, p: number, seed: number): Float64Array {
  const y = new Float64Array(x.length);
  if (p === 0) {
    for (let i = 0; i < x.length; i++) y[i] = x[i];
    return y;
  }
  const threshold = dropoutThreshold(p);
  const scale = 1 / (1 - p);
  for (let i = 0; i < x.length; i++) {
    const group = Math.floor(i / inner);
    if (keeps(seed, group, i - group * inner, threshold)) y[i] = x[i] * scale;
  }
  return y;
}
