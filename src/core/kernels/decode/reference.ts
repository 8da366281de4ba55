// Float64 references for the KV-cache kernels, in plain TypeScript. qkv is packed (B, Tq, (nHead + 2·nKvHead)·hd):
// q heads, k heads, v heads; query head h reads kv head floor(h / (nHead / nKvHead)).

export interface DecodeShape {
  B: number;
  nHead: number;
  /** cached key/value heads; nHead when not given */
  nKvHead?: number;
  /** false: scores without the 1/√hd */
  scaled?: boolean;
  /** query position i sees positions j with 0 ≤ i − j < window only */
  window?: number;
  hd: number;
  capacity: number;
}

/** Caches (B, nKvHead, capacity, hd) after writing k, v of qkv at rows past.. (other rows as given). */
export function kvCacheWriteReference(
  qkv: ArrayLike<number>,
  kCache: Float64Array,
  vCache: Float64Array,
  Tq: number,
  past: number,
  { B, nHead, nKvHead = nHead, hd, capacity }: DecodeShape,
): void {
  const width = (nHead + 2 * nKvHead) * hd;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < Tq; t++)
      for (let g = 0; g < nKvHead; g++)
        for (let d = 0; d < hd; d++) {
          const src = (b * Tq + t) * width + (nHead + g) * hd + d;
          const dst = ((b * nKvHead + g) * capacity + past + t) * hd + d;
          kCache[dst] = qkv[src];
          vCache[dst] = qkv[src + nKvHead * hd];
        }
}

/** out (B, Tq, C): softmax(q·kᵀ/√hd) v over cached rows 0 ..= past + t (the last `window` of them with a window)
 * for each query row t. */
export function decodeAttentionReference(
  qkv: ArrayLike<number>,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  Tq: number,
  past: number,
  { B, nHead, nKvHead = nHead, hd, capacity, scaled = true, window }: DecodeShape,
): Float64Array {
  const C = nHead * hd;
  const width = (nHead + 2 * nKvHead) * hd;
  const out = new Float64Array(B * Tq * C);
  const scale = scaled ? 1 / Math.sqrt(hd) : 1;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < Tq; t++)
      for (let h = 0; h < nHead; h++) {
        const qBase = (b * Tq + t) * width + h * hd;
        const head = (b * nKvHead + Math.floor(h / (nHead / nKvHead))) * capacity * hd;
        const n = past + t + 1;
        const first = window ? Math.max(0, n - window) : 0;
        const scores = new Float64Array(n);
        let max = -Infinity;
        for (let j = first; j < n; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += qkv[qBase + d] * kCache[head + j * hd + d];
          scores[j] = s * scale;
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        for (let j = first; j < n; j++) sum += scores[j] = Math.exp(scores[j] - max);
        for (let d = 0; d < hd; d++) {
          let a = 0;
          for (let j = first; j < n; j++) a += scores[j] * vCache[head + j * hd + d];
          out[(b * Tq + t) * C + h * hd + d] = a / sum;
        }
      }
  return out;
}
