// GPT-2 in plain float64 TypeScript, forward and hand-written backward: the golden model the GPU model is
// checked against. Slow and obvious on purpose; no tfjs, no GPU. Shapes are in the comments.
import { innerDim, type GPT2Dims } from '../families/gpt2_config.ts';
import { parameterShapes } from '../families/index.ts';
import { IGNORE_INDEX } from '../../util/targets.ts';
import { dropoutBits, dropoutRowKey, dropoutThreshold, siteSeed } from '../../kernels/dropout/seeds.ts';
import { dropoutForward } from '../../kernels/dropout/reference.ts';

export type RefParams = Map<string, Float64Array>;

const GELU_K = Math.sqrt(2 / Math.PI);

/** gelu_new, the tanh approximation: 0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³))) */
export function geluNew(v: number): number {
  return 0.5 * v * (1 + Math.tanh(GELU_K * (v + 0.044715 * v * v * v)));
}

/** gelu_new's derivative at v */
export function geluNewGrad(v: number): number {
  const t = Math.tanh(GELU_K * (v + 0.044715 * v * v * v));
  return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * v * v);
}

/** y (M,N) = x (M,K) · w (K,N) + b (N) */
function linear(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | null,
  M: number,
  K: number,
  N: number,
): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const row = y.subarray(m * N, (m + 1) * N);
    if (b) row.set(b);
    for (let k = 0; k < K; k++) {
      const a = x[m * K + k];
      if (a === 0) continue;
      const wr = k * N;
      for (let n = 0; n < N; n++) row[n] += a * w[wr + n];
    }
  }
  return y;
}

/** accumulates dx += dy·wᵀ, dw += xᵀ·dy, db += Σ_m dy */
function linearBackward(
  dy: Float64Array,
  x: Float64Array,
  w: Float64Array,
  M: number,
  K: number,
  N: number,
  dx: Float64Array,
  dw: Float64Array,
  db: Float64Array | null,
): void {
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      const a = x[m * K + k];
      for (let n = 0; n < N; n++) {
        const g = dy[m * N + n];
        s += g * w[k * N + n];
        dw[k * N + n] += a * g;
      }
      dx[m * K + k] += s;
    }
    if (db) for (let n = 0; n < N; n++) db[n] += dy[m * N + n];
  }
}

export interface LNCache {
  xhat: Float64Array;
  rstd: Float64Array;
}

export function layerNorm(
  x: Float64Array,
  g: Float64Array,
  b: Float64Array,
  M: number,
  C: number,
  eps: number,
): [Float64Array, LNCache] {
  const y = new Float64Array(M * C);
  const xhat = new Float64Array(M * C);
  const rstd = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[m * C + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[m * C + c] - mean) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    rstd[m] = r;
    for (let c = 0; c < C; c++) {
      const h = (x[m * C + c] - mean) * r;
      xhat[m * C + c] = h;
      y[m * C + c] = h * g[c] + b[c];
    }
  }
  return [y, { xhat, rstd }];
}

export function layerNormBackward(
  dy: Float64Array,
  cache: LNCache,
  g: Float64Array,
  M: number,
  C: number,
  dx: Float64Array,
  dg: Float64Array,
  db: Float64Array,
): void {
  for (let m = 0; m < M; m++) {
    let sumD = 0;
    let sumDX = 0;
    for (let c = 0; c < C; c++) {
      const d = dy[m * C + c] * g[c];
      sumD += d;
      sumDX += d * cache.xhat[m * C + c];
      dg[c] += dy[m * C + c] * cache.xhat[m * C + c];
      db[c] += dy[m * C + c];
    }
    for (let c = 0; c < C; c++) {
      const d = dy[m * C + c] * g[c];
      dx[m * C + c] += cache.rstd[m] * (d - sumD / C - (cache.xhat[m * C + c] * sumDX) / C);
    }
  }
}

/** Attention dropout's z = m/(1 − p) per score (B,nh,T,T): the mask of (b, h, i, j) is keyed by (b·nh + h, i·T + j). */
function attentionDropoutScales(B: number, T: number, nh: number, p: number, seed: number): Float64Array {
  const Z = new Float64Array(B * nh * T * T).fill(1);
  if (p === 0) return Z;
  const threshold = dropoutThreshold(p);
  for (let bh = 0; bh < B * nh; bh++) {
    const key = dropoutRowKey(seed, bh);
    for (let i = 0; i < T * T; i++) Z[bh * T * T + i] = dropoutBits(key, i) >= threshold ? 1 / (1 - p) : 0;
  }
  return Z;
}

/** qkv (B,T,3C) → y (B,T,C), and the (undropped) attention probabilities (B,nh,T,T) for the backward; y uses P·Z */
export function attention(
  qkv: Float64Array,
  B: number,
  T: number,
  C: number,
  nh: number,
  Z: Float64Array,
): [Float64Array, Float64Array] {
  const hd = C / nh;
  const scale = 1 / Math.sqrt(hd);
  const y = new Float64Array(B * T * C);
  const P = new Float64Array(B * nh * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < T; i++) {
        const q = (b * T + i) * 3 * C + h * hd;
        const prow = ((b * nh + h) * T + i) * T;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          const k = (b * T + j) * 3 * C + C + h * hd;
          let s = 0;
          for (let d = 0; d < hd; d++) s += qkv[q + d] * qkv[k + d];
          P[prow + j] = s * scale;
          if (P[prow + j] > max) max = P[prow + j];
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += P[prow + j] = Math.exp(P[prow + j] - max);
        for (let j = 0; j <= i; j++) P[prow + j] /= sum;
        for (let j = 0; j <= i; j++) {
          const v = (b * T + j) * 3 * C + 2 * C + h * hd;
          for (let d = 0; d < hd; d++) y[(b * T + i) * C + h * hd + d] += P[prow + j] * Z[prow + j] * qkv[v + d];
        }
      }
    }
  }
  return [y, P];
}

export function attentionBackward(
  dy: Float64Array,
  qkv: Float64Array,
  P: Float64Array,
  Z: Float64Array,
  B: number,
  T: number,
  C: number,
  nh: number,
): Float64Array {
  const hd = C / nh;
  const scale = 1 / Math.sqrt(hd);
  const dqkv = new Float64Array(qkv.length);
  const dP = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < T; i++) {
        const prow = ((b * nh + h) * T + i) * T;
        const dyo = (b * T + i) * C + h * hd;
        let dot = 0;
        for (let j = 0; j <= i; j++) {
          const v = (b * T + j) * 3 * C + 2 * C + h * hd;
          let s = 0;
          for (let d = 0; d < hd; d++) {
            s += dy[dyo + d] * qkv[v + d];
            dqkv[v + d] += P[prow + j] * Z[prow + j] * dy[dyo + d];
          }
          dP[j] = s * Z[prow + j]; // the gradient reaching the undropped probability
          dot += dP[j] * P[prow + j];
        }
        const q = (b * T + i) * 3 * C + h * hd;
        for (let j = 0; j <= i; j++) {
          const dS = P[prow + j] * (dP[j] - dot) * scale;
          const k = (b * T + j) * 3 * C + C + h * hd;
          for (let d = 0; d < hd; d++) {
            dqkv[q + d] += dS * qkv[k + d];
            dqkv[k + d] += dS * qkv[q + d];
          }
        }
      }
    }
  }
  return dqkv;
}

/** Mean cross-entropy of logits (M, V) over targets ≠ IGNORE_INDEX, and its gradient (M, V). */
export function crossEntropy(
  logits: Float64Array,
  targets: Int32Array,
  M: number,
  V: number,
): { loss: number; dlogits: Float64Array } {
  let count = 0;
  for (let m = 0; m < M; m++) if (targets[m] !== IGNORE_INDEX) count++;
  let loss = 0;
  const dlogits = new Float64Array(M * V);
  for (let m = 0; m < M; m++) {
    if (targets[m] === IGNORE_INDEX) continue;
    const row = logits.subarray(m * V, (m + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (row[v] > max) max = row[v];
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
    const lse = max + Math.log(sum);
    loss += lse - row[targets[m]];
    for (let v = 0; v < V; v++) dlogits[m * V + v] = Math.exp(row[v] - lse) / count;
    dlogits[m * V + targets[m]] -= 1 / count;
  }
  return { loss: loss / Math.max(count, 1), dlogits };
}

export interface RefResult {
  loss: number;
  /** (B·T, V) */
  logits: Float64Array;
  grads: RefParams;
}

/**
 * Mean next-token cross-entropy over targets ≠ IGNORE_INDEX (−100) and every parameter's gradient.
 * tokens, targets: (B, T) row-major. With `dropoutSeed`, training-mode dropout at d's rates with the GPU model's
 * masks (the same hash, seeds per (layer, site)).
 */
export function referenceLossAndGrads(
  d: GPT2Dims,
  params: RefParams,
  tokens: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
  opts: { dropoutSeed?: number } = {},
): RefResult {
  const C = d.n_embd;
  const H = innerDim(d);
  const V = d.vocab_size;
  const M = B * T;
  const eps = d.layer_norm_epsilon;
  const p = (name: string) => {
    const t = params.get(name);
    if (!t) throw new Error(`reference model: no parameter ${name}`);
    return t;
  };
  const seed = opts.dropoutSeed;
  const rate = (p: number | undefined) => (seed === undefined ? 0 : (p ?? 0));
  const [embdP, attnP, residP] = [rate(d.embd_pdrop), rate(d.attn_pdrop), rate(d.resid_pdrop)];
  // Dropout is linear with its mask fixed by the seed: the same function carries the forward and the gradient.
  const drop = (x: Float64Array, p: number, layer: number, site: 'attentionResidual' | 'mlpResidual' | 'embedding') =>
    p > 0 ? dropoutForward(x, C, p, siteSeed(seed!, layer, site)) : x;
  const grads: RefParams = new Map(
    parameterShapes(d).map(([n, s]) => [n, new Float64Array(s.reduce((a, b) => a * b, 1))]),
  );
  const g = (name: string) => grads.get(name)!;

  // forward ------------------------------------------------------------------------------------
  const wte = p('wte.weight');
  const wpe = p('wpe.weight');
  let x: Float64Array = new Float64Array(M * C); // (B·T, C) residual stream
  for (let m = 0; m < M; m++) {
    const t = m % T;
    for (let c = 0; c < C; c++) x[m * C + c] = wte[tokens[m] * C + c] + wpe[t * C + c];
  }
  x = drop(x, embdP, -1, 'embedding');
  const layers: {
    xIn: Float64Array;
    ln1: Float64Array;
    ln1c: LNCache;
    qkv: Float64Array;
    P: Float64Array;
    Z: Float64Array;
    att: Float64Array;
    xMid: Float64Array;
    ln2: Float64Array;
    ln2c: LNCache;
    pre: Float64Array;
    act: Float64Array;
  }[] = [];
  for (let l = 0; l < d.n_layer; l++) {
    const n = (s: string) => `h.${l}.${s}`;
    const xIn = x;
    const [ln1, ln1c] = layerNorm(xIn, p(n('ln_1.weight')), p(n('ln_1.bias')), M, C, eps);
    const qkv = linear(ln1, p(n('attn.c_attn.weight')), p(n('attn.c_attn.bias')), M, C, 3 * C);
    const Z = attentionDropoutScales(B, T, d.n_head, attnP, attnP > 0 ? siteSeed(seed!, l, 'attention') : 0);
    const [att, P] = attention(qkv, B, T, C, d.n_head, Z);
    const proj = drop(
      linear(att, p(n('attn.c_proj.weight')), p(n('attn.c_proj.bias')), M, C, C),
      residP,
      l,
      'attentionResidual',
    );
    const xMid = new Float64Array(M * C);
    for (let i = 0; i < xMid.length; i++) xMid[i] = xIn[i] + proj[i];
    const [ln2, ln2c] = layerNorm(xMid, p(n('ln_2.weight')), p(n('ln_2.bias')), M, C, eps);
    const pre = linear(ln2, p(n('mlp.c_fc.weight')), p(n('mlp.c_fc.bias')), M, C, H);
    const act = new Float64Array(pre.length);
    for (let i = 0; i < pre.length; i++) act[i] = geluNew(pre[i]);
    const mlp = drop(
      linear(act, p(n('mlp.c_proj.weight')), p(n('mlp.c_proj.bias')), M, H, C),
      residP,
      l,
      'mlpResidual',
    );
    x = new Float64Array(M * C);
    for (let i = 0; i < x.length; i++) x[i] = xMid[i] + mlp[i];
    layers.push({ xIn, ln1, ln1c, qkv, P, Z, att, xMid, ln2, ln2c, pre, act });
  }
  const [lnf, lnfc] = layerNorm(x, p('ln_f.weight'), p('ln_f.bias'), M, C, eps);
  const logits = new Float64Array(M * V); // lm_head tied to wte: logits = lnf · wteᵀ
  for (let m = 0; m < M; m++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += lnf[m * C + c] * wte[v * C + c];
      logits[m * V + v] = s;
    }
  }
  const { loss, dlogits } = crossEntropy(logits, targets, M, V);

  // backward -----------------------------------------------------------------------------------
  const dlnf = new Float64Array(M * C);
  const dwte = g('wte.weight');
  for (let m = 0; m < M; m++) {
    for (let v = 0; v < V; v++) {
      const dl = dlogits[m * V + v];
      if (dl === 0) continue;
      for (let c = 0; c < C; c++) {
        dlnf[m * C + c] += dl * wte[v * C + c];
        dwte[v * C + c] += dl * lnf[m * C + c];
      }
    }
  }
  let dx: Float64Array = new Float64Array(M * C);
  layerNormBackward(dlnf, lnfc, p('ln_f.weight'), M, C, dx, g('ln_f.weight'), g('ln_f.bias'));
  for (let l = d.n_layer - 1; l >= 0; l--) {
    const n = (s: string) => `h.${l}.${s}`;
    const L = layers[l];
    // x = xMid + mlp(ln2(xMid))
    const dact = new Float64Array(M * H);
    linearBackward(
      drop(dx, residP, l, 'mlpResidual'),
      L.act,
      p(n('mlp.c_proj.weight')),
      M,
      H,
      C,
      dact,
      g(n('mlp.c_proj.weight')),
      g(n('mlp.c_proj.bias')),
    );
    const dpre = new Float64Array(M * H);
    for (let i = 0; i < dpre.length; i++) dpre[i] = dact[i] * geluNewGrad(L.pre[i]);
    const dln2 = new Float64Array(M * C);
    linearBackward(dpre, L.ln2, p(n('mlp.c_fc.weight')), M, C, H, dln2, g(n('mlp.c_fc.weight')), g(n('mlp.c_fc.bias')));
    const dxMid = dx.slice();
    layerNormBackward(dln2, L.ln2c, p(n('ln_2.weight')), M, C, dxMid, g(n('ln_2.weight')), g(n('ln_2.bias')));
    // xMid = xIn + c_proj(attn(c_attn(ln1(xIn))))
    const datt = new Float64Array(M * C);
    linearBackward(
      drop(dxMid, residP, l, 'attentionResidual'),
      L.att,
      p(n('attn.c_proj.weight')),
      M,
      C,
      C,
      datt,
      g(n('attn.c_proj.weight')),
      g(n('attn.c_proj.bias')),
    );
    const dqkv = attentionBackward(datt, L.qkv, L.P, L.Z, B, T, C, d.n_head);
    const dln1 = new Float64Array(M * C);
    linearBackward(
      dqkv,
      L.ln1,
      p(n('attn.c_attn.weight')),
      M,
      C,
      3 * C,
      dln1,
      g(n('attn.c_attn.weight')),
      g(n('attn.c_attn.bias')),
    );
    const dxIn = dxMid.slice();
    layerNormBackward(dln1, L.ln1c, p(n('ln_1.weight')), M, C, dxIn, g(n('ln_1.weight')), g(n('ln_1.bias')));
    dx = dxIn;
  }
  const dwpe = g('wpe.weight');
  dx = drop(dx, embdP, -1, 'embedding');
  for (let m = 0; m < M; m++) {
    const t = m % T;
    for (let c = 0; c < C; c++) {
      dwte[tokens[m] * C + c] += dx[m * C + c];
      dwpe[t * C + c] += dx[m * C + c];
    }
  }
  return { loss, logits, grads };
}
