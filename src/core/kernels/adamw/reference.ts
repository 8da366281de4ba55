// float64 references for AdamW (torch.optim.AdamW) and global-norm clipping (torch.nn.utils.clip_grad_norm_).
import type { AdamWHyper } from './index.ts';

export function adamwStep(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  h: AdamWHyper,
  gradScale = 1,
): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const n = param.length;
  const out = { param: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * gradScale;
    const mi = h.beta1 * m[i] + (1 - h.beta1) * g;
    const vi = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    const decayed = param[i] * (1 - h.lr * h.weightDecay);
    out.param[i] = decayed - (h.lr / bc1) * (mi / (Math.sqrt(vi) / Math.sqrt(bc2) + h.eps));
    out.m[i] = mi;
    out.v[i] = vi;
  }
  return out;
}

export function sumOfSquaresReference(arrays: ArrayLike<number>[]): number {
  let s = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

export function clipScaleReference(sumSq: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (Math.sqrt(sumSq) + 1e-6));
}

/**
 * adamwMultiTensor's step on flat arrays: clipped by the global norm of grad to maxNorm (0: no clipping), weight
 * decay only below element decayEnd.
 */
export function adamwMultiTensorStep(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  h: AdamWHyper,
  decayEnd: number,
  maxNorm: number,
): { param: Float64Array; m: Float64Array; v: Float64Array; norm: number } {
  const norm = Math.sqrt(sumOfSquaresReference([grad]));
  const scale = maxNorm > 0 ? clipScaleReference(norm * norm, maxNorm) : 1;
  const decaying = adamwStep(param, grad, m, v, h, scale);
  const plain = adamwStep(param, grad, m, v, { ...h, weightDecay: 0 }, scale);
  for (let i = decayEnd; i < param.length; i++) {
    decaying.param[i] = plain.param[i];
  }
  return { ...decaying, norm };
}
