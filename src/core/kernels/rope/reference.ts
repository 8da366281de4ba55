// float64 reference for rotary position embedding (Hugging Face's rotate_half convention). The angle is rounded to
// float32 as transformers computes it ((position + t)·inv_freq in float32, or with packed rows the token's own
// position), its cosine and sine then taken exactly.
import type { RopeSpec } from './index.ts';

/** y = rope(x) for x (B·T, nHeads·headDim); `direction` −1 rotates by −a (the backward, applied to dy). */
export function ropeReference(x: ArrayLike<number>, r: RopeSpec, direction = 1): Float64Array {
  const { B, T, nHeads, headDim, rotaryDim, invFreq, position, positions } = r;
  const half = rotaryDim / 2;
  const y = Float64Array.from(x);
  for (let row = 0; row < B * T; row++) {
    const pos = positions ? positions[row] : position + (row % T);
    for (let h = 0; h < nHeads; h++) {
      const o = (row * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = Math.fround(Math.fround(pos) * invFreq[i]);
        const c = Math.cos(a);
        const s = Math.sin(a) * direction;
        y[o + i] = x[o + i] * c - x[o + i + half] * s;
        y[o + i + half] = x[o + i + half] * c + x[o + i] * s;
      }
    }
  }
  return y;
}
