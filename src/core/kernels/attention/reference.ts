// float64 references for the causal self-attention core, written the slow, obvious way: the full T×T score matrix
// per (b, h), softmax, then the textbook backward. The kernels must agree with this.
// Layouts as in index.ts: qkv (B, T, (nHead + 2·nKvHead)·hd) packed [q heads | k heads | v heads] (GPT-2's (B, T, 3C)
// when nKvHead = nHead), out (B, T, C = nHead·hd) heads merged, lse (B, nh, T). Query head h reads kv head
// floor(h / (nHead / nKvHead)) (grouped-query attention).
// With dropout (p, seed), out_i = Σ_j p_ij·z_ij·v_j with z_ij = m_ij/(1 − p) and m from the shared hash.
import { dropoutRowKey, dropoutBits, dropoutThreshold } from '../dropout/seeds.ts';

export interface AttentionShape {
  B: number;
  T: number;
  C: number;
  nHead: number;
  /** key/value heads (grouped-query attention); nHead when not given */
  nKvHead?: number;
  /** false: scores without the 1/√hd */
  scaled?: boolean;
  /** query i sees keys j with 0 ≤ i − j < window only */
  window?: number;
  /** packed rows (B·T): each token's position within its sequence; query i of row b sees keys from
   * i − positions[b·T + i] on (its own sequence) only */
  positions?: ArrayLike<number>;
}

/** The first key query i of row b sees. */
function firstKey({ window, positions, T }: AttentionShape, b: number, i: number): number {
  const sequenceStart = positions ? i - positions[b * T + i] : 0;
  return Math.max(sequenceStart, window === undefined ? 0 : i - window + 1);
}

/** Where element d of head h's q, k and v at position t of batch row b sits in the packed qkv. */
function qkvLayout({ T, C, nHead, nKvHead = nHead }: AttentionShape, b: number, h: number) {
  const hd = C / nHead;
  const width = (nHead + 2 * nKvHead) * hd;
  const g = Math.floor(h / (nHead / nKvHead));
  const row = (t: number) => (b * T + t) * width;
  return {
    width,
    q: (t: number, d: number) => row(t) + h * hd + d,
    k: (t: number, d: number) => row(t) + (nHead + g) * hd + d,
    v: (t: number, d: number) => row(t) + (nHead + nKvHead + g) * hd + d,
  };
}

export interface DropoutSpec {
  p: number;
  seed: number;
}

/** z[i·T + j] = m_ij/(1 − p) for one (b, h): the mask of score (i, j) is keyed by (seed, b·nHead + h, i·T + j). */
function dropoutScales({ T, nHead }: AttentionShape, b: number, h: number, dropout?: DropoutSpec): Float64Array {
  const z = new Float64Array(T * T).fill(1);
  if (!dropout || dropout.p === 0) return z;
  const key = dropoutRowKey(dropout.seed >>> 0, b * nHead + h);
  const threshold = dropoutThreshold(dropout.p);
  for (let i = 0; i < T * T; i++) z[i] = dropoutBits(key, i) >= threshold ? 1 / (1 - dropout.p) : 0;
  return z;
}

/** Probabilities p[i·T + j] (zero above the diagonal) for one (b, h), and each row's logsumexp. */
function probabilities(qkv: ArrayLike<number>, shape: AttentionShape, b: number, h: number) {
  const { T, C, nHead } = shape;
  const hd = C / nHead;
  const scale = shape.scaled === false ? 1 : 1 / Math.sqrt(hd);
  const at = qkvLayout(shape, b, h);
  const q = (t: number, d: number) => qkv[at.q(t, d)];
  const k = (t: number, d: number) => qkv[at.k(t, d)];
  const p = new Float64Array(T * T);
  const lse = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    let max = -Infinity;
    const first = firstKey(shape, b, i);
    for (let j = first; j <= i; j++) {
      let s = 0;
      for (let d = 0; d < hd; d++) s += q(i, d) * k(j, d);
      p[i * T + j] = s * scale;
      max = Math.max(max, s * scale);
    }
    let sum = 0;
    for (let j = first; j <= i; j++) sum += Math.exp(p[i * T + j] - max);
    for (let j = first; j <= i; j++) p[i * T + j] = Math.exp(p[i * T + j] - max) / sum;
    lse[i] = max + Math.log(sum);
  }
  return { p, lse };
}

/** out (B, T, C) and lse (B, nh, T) from the packed qkv; lse is the undropped softmax's. */
export function attentionForward(qkv: ArrayLike<number>, shape: AttentionShape, dropout?: DropoutSpec) {
  const { B, T, C, nHead } = shape;
  const hd = C / nHead;
  const out = new Float64Array(B * T * C);
  const lse = new Float64Array(B * nHead * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nHead; h++) {
      const { p, lse: rowLse } = probabilities(qkv, shape, b, h);
      const z = dropoutScales(shape, b, h, dropout);
      const at = qkvLayout(shape, b, h);
      lse.set(rowLse, (b * nHead + h) * T);
      for (let i = 0; i < T; i++) {
        for (let d = 0; d < hd; d++) {
          let o = 0;
          for (let j = 0; j <= i; j++) o += p[i * T + j] * z[i * T + j] * qkv[at.v(j, d)];
          out[(b * T + i) * C + h * hd + d] = o;
        }
      }
    }
  }
  return { out, lse };
}

/** dqkv (the packed qkv's shape) given the upstream gradients of out (B, T, C) and, optionally, of lse (B, nh, T);
 * a kv head's gradients sum over the query heads of its group. */
export function attentionBackward(
  qkv: ArrayLike<number>,
  dout: ArrayLike<number>,
  shape: AttentionShape,
  dlse?: ArrayLike<number>,
  dropout?: DropoutSpec,
): Float64Array {
  const { B, T, C, nHead } = shape;
  const hd = C / nHead;
  const scale = shape.scaled === false ? 1 : 1 / Math.sqrt(hd);
  const dqkv = new Float64Array(B * T * qkvLayout(shape, 0, 0).width);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nHead; h++) {
      const { p } = probabilities(qkv, shape, b, h);
      const z = dropoutScales(shape, b, h, dropout);
      const layout = qkvLayout(shape, b, h);
      const parts = [layout.q, layout.k, layout.v];
      const at = (t: number, part: number, d: number) => parts[part](t, d);
      const dO = (t: number, d: number) => dout[(b * T + t) * C + h * hd + d];
      for (let i = 0; i < T; i++) {
        // dp_ij = z_ij·dO_i·v_j (the gradient reaching the undropped p); softmax backward:
        // ds_ij = p_ij·(dp_ij − Σ_j' p_ij'·dp_ij') (+ p_ij·dlse_i)
        const dp = new Float64Array(i + 1);
        let rowDot = 0;
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < hd; d++) dp[j] += dO(i, d) * qkv[at(j, 2, d)];
          dp[j] *= z[i * T + j];
          rowDot += p[i * T + j] * dp[j];
        }
        const g = dlse ? dlse[(b * nHead + h) * T + i] : 0;
        for (let j = 0; j <= i; j++) {
          const pij = p[i * T + j];
          const ds = pij * (dp[j] - rowDot + g);
          for (let d = 0; d < hd; d++) {
            dqkv[at(i, 0, d)] += ds * qkv[at(j, 1, d)] * scale;
            dqkv[at(j, 1, d)] += ds * qkv[at(i, 0, d)] * scale;
            dqkv[at(j, 2, d)] += pij * z[i * T + j] * dO(i, d);
          }
        }
      }
    }
  }
  return dqkv;
}
