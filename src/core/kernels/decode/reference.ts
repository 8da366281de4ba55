// Float64 references for the KV-cache kernels, in plain TypeScript.

export interface DecodeShape {
  B: number;
  nHead: number;
  /** key/value heads, nHead unless given; query head h reads head ⌊h / (nHead / nKvHead)⌋ */
  nKvHead?: number;
  hd: number;
  capacity: number;
}

/** Caches (B, nKvHead, capacity, hd) after writing k, v of qkv (B, Tq, C + 2G) at rows past.. (others as given). */
export function kvCacheWriteReference(
  qkv: ArrayLike<number>,
  kCache: Float64Array,
  vCache: Float64Array,
  Tq: number,
  past: number,
  { B, nHead, nKvHead = nHead, hd, capacity }: DecodeShape,
): void {
  const C = nHead * hd;
  const G = nKvHead * hd;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < Tq; t++)
      for (let h = 0; h < nKvHead; h++)
        for (let d = 0; d < hd; d++) {
          const src = (b * Tq + t) * (C + 2 * G) + h * hd + d;
          const dst = ((b * nKvHead + h) * capacity + past + t) * hd + d;
          kCache[dst] = qkv[src + C];
          vCache[dst] = qkv[src + C + G];
        }
}

/** out (B, Tq, C): softmax(q·kᵀ/√hd) v over cached rows 0 ..= past + t for each query row t, of q's head's group. */
export function decodeAttentionReference(
  qkv: ArrayLike<number>,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  Tq: number,
  past: number,
  { B, nHead, nKvHead = nHead, hd, capacity }: DecodeShape,
): Float64Array {
  const C = nHead * hd;
  const G = nKvHead * hd;
  const out = new Float64Array(B * Tq * C);
  const scale = 1 / Math.sqrt(hd);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < Tq; t++)
      for (let h = 0; h < nHead; h++) {
        const qBase = (b * Tq + t) * (C + 2 * G) + h * hd;
        const head = (b * nKvHead + Math.floor(h / (nHead / nKvHead))) * capacity * hd;
        const n = past + t + 1;
        const scores = new Float64Array(n);
        let max = -Infinity;
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += qkv[qBase + d] * kCache[head + j * hd + d];
          scores[j] = s * scale;
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        for (let j = 0; j < n; j++) sum += scores[j] = Math.exp(scores[j] - max);
        for (let d = 0; d < hd; d++) {
          let a = 0;
          for (let j = 0; j < n; j++) a += scores[j] * vCache[head + j * hd + d];
          out[(b * Tq + t) * C + h * hd + d] = a / sum;
        }
      }
  return out;
}
