// The Llama family (LlamaForCausalLM, and Mistral's and Qwen2's same stack) in plain float64 TypeScript, forward and
// hand-written backward: the golden model the GPU model is checked against. Slow and obvious on purpose.
// Shapes are in the comments: M = B·T rows, C hidden, A = H·D query width, G = K·D key/value width, I MLP width.
import {
  headDim,
  kvHeads,
  mlpBias,
  oBias,
  qkvBias,
  slidingWindow,
  tiedHead,
  type LlamaDims,
} from '../families/llama_config.ts';
import { llamaInvFreq } from '../families/llama.ts';
import { parameterShapes } from '../families/index.ts';
import { crossEntropy, type RefParams, type RefResult } from './gpt2.ts';
import { attentionForward, attentionBackward, type AttentionShape } from '../../kernels/attention/reference.ts';

/** y (M,N) = x (M,K) · wᵀ (w (N,K), a Linear's [out, in]) + b (N) */
export function linear(x: Float64Array, w: Float64Array, b: Float64Array | null, M: number, K: number, N: number) {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = b ? b[n] : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}

/** accumulates dx += dy·w, dw += dyᵀ·x, db += Σ_m dy */
export function linearBackward(
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
    for (let n = 0; n < N; n++) {
      const g = dy[m * N + n];
      if (db) db[n] += g;
      for (let k = 0; k < K; k++) {
        dx[m * K + k] += g * w[n * K + k];
        dw[n * K + k] += g * x[m * K + k];
      }
    }
  }
}

/** y = x·r·w with r = 1/√(mean(x²) + eps) per row; returns y and r */
function rmsNorm(x: Float64Array, w: Float64Array, M: number, C: number, eps: number): [Float64Array, Float64Array] {
  const y = new Float64Array(M * C);
  const r = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[m * C + c] ** 2;
    r[m] = 1 / Math.sqrt(s / C + eps);
    for (let c = 0; c < C; c++) y[m * C + c] = x[m * C + c] * r[m] * w[c];
  }
  return [y, r];
}

/** accumulates dx += r·(dy·w) − x·r³·Σ(dy·w·x)/C and dw += Σ_m dy·x·r */
function rmsNormBackward(
  dy: Float64Array,
  x: Float64Array,
  r: Float64Array,
  w: Float64Array,
  M: number,
  C: number,
  dx: Float64Array,
  dw: Float64Array,
): void {
  for (let m = 0; m < M; m++) {
    let dot = 0;
    for (let c = 0; c < C; c++) {
      const i = m * C + c;
      dot += dy[i] * w[c] * x[i];
      dw[c] += dy[i] * x[i] * r[m];
    }
    const k = (r[m] ** 3 * dot) / C;
    for (let c = 0; c < C; c++) dx[m * C + c] += r[m] * dy[m * C + c] * w[c] - x[m * C + c] * k;
  }
}

/**
 * Rotates x (M, nh·D) in place as HF's apply_rotary_pos_emb, the token of row m at position m mod T; `inverse`
 * rotates back (the backward of a rotation is its transpose).
 */
function rope(x: Float64Array, M: number, T: number, nh: number, D: number, inv: Float32Array, inverse = false) {
  const half = D / 2;
  for (let m = 0; m < M; m++) {
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < half; i++) {
        const angle = (m % T) * inv[i];
        const c = Math.cos(angle);
        const s = inverse ? -Math.sin(angle) : Math.sin(angle);
        const a = m * nh * D + h * D + i;
        const [x1, x2] = [x[a], x[a + half]];
        x[a] = x1 * c - x2 * s;
        x[a + half] = x2 * c + x1 * s;
      }
    }
  }
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Mean next-token cross-entropy over targets ≠ IGNORE_INDEX (−100), the logits, and every parameter's gradient.
 * tokens, targets: (B, T) row-major, positions 0..T−1.
 */
export function referenceLlamaLossAndGrads(
  d: LlamaDims,
  params: RefParams,
  tokens: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
): RefResult {
  const C = d.hidden_size;
  const V = d.vocab_size;
  const I = d.intermediate_size;
  const D = headDim(d);
  const H = d.num_attention_heads;
  const K = kvHeads(d);
  const [A, G] = [H * D, K * D];
  const M = B * T;
  const eps = d.rms_norm_eps;
  const inv = llamaInvFreq(d);
  const p = (name: string) => {
    const t = params.get(name);
    if (!t) throw new Error(`reference model: no parameter ${name}`);
    return t;
  };
  const grads: RefParams = new Map(
    parameterShapes(d).map(([n, s]) => [n, new Float64Array(s.reduce((a, b) => a * b, 1))]),
  );
  const g = (name: string) => grads.get(name)!;
  const bias = (name: string, has: boolean) => (has ? p(name) : null);
  const gbias = (name: string, has: boolean) => (has ? g(name) : null);
  /** the Linear `name` (its weight, and bias when `has`) on x (M, K) → (M, N), and its backward */
  const lin = (name: string, x: Float64Array, K: number, N: number, has: boolean) =>
    linear(x, p(`${name}.weight`), bias(`${name}.bias`, has), M, K, N);
  const linBack = (
    name: string,
    dy: Float64Array,
    x: Float64Array,
    K: number,
    N: number,
    dx: Float64Array,
    has: boolean,
  ) => linearBackward(dy, x, p(`${name}.weight`), M, K, N, dx, g(`${name}.weight`), gbias(`${name}.bias`, has));
  const head = tiedHead(d) ? 'embed_tokens.weight' : 'lm_head.weight';
  /** layer l's attention: H heads of D over (M, 3A), within its sliding window */
  const attnShape = (l: number): AttentionShape => ({ B, T, C: A, nHead: H, window: slidingWindow(d, l) });

  // forward ------------------------------------------------------------------------------------
  const emb = p('embed_tokens.weight');
  let x = new Float64Array(M * C);
  for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) x[m * C + c] = emb[tokens[m] * C + c];
  const layers = [];
  for (let l = 0; l < d.num_hidden_layers; l++) {
    const n = (s: string) => `layers.${l}.${s}`;
    const xIn = x;
    const [h1, r1] = rmsNorm(xIn, p(n('input_layernorm.weight')), M, C, eps);
    const q = lin(n('self_attn.q_proj'), h1, C, A, qkvBias(d));
    const k = lin(n('self_attn.k_proj'), h1, C, G, qkvBias(d));
    const v = lin(n('self_attn.v_proj'), h1, C, G, qkvBias(d));
    rope(q, M, T, H, D, inv);
    rope(k, M, T, K, D, inv);
    // (M, 3A): query head h reads key/value head ⌊h / (H/K)⌋
    const qkv = new Float64Array(M * 3 * A);
    for (let m = 0; m < M; m++) {
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / (H / K));
        for (let e = 0; e < D; e++) {
          qkv[m * 3 * A + h * D + e] = q[m * A + h * D + e];
          qkv[m * 3 * A + A + h * D + e] = k[m * G + kv * D + e];
          qkv[m * 3 * A + 2 * A + h * D + e] = v[m * G + kv * D + e];
        }
      }
    }
    const att = attentionForward(qkv, attnShape(l)).out;
    const o = lin(n('self_attn.o_proj'), att, A, C, oBias(d));
    const xMid = xIn.map((a, i) => a + o[i]);
    const [h2, r2] = rmsNorm(xMid, p(n('post_attention_layernorm.weight')), M, C, eps);
    const gate = lin(n('mlp.gate_proj'), h2, C, I, mlpBias(d));
    const up = lin(n('mlp.up_proj'), h2, C, I, mlpBias(d));
    const act = gate.map((z, i) => z * sigmoid(z) * up[i]);
    const down = lin(n('mlp.down_proj'), act, I, C, mlpBias(d));
    x = xMid.map((a, i) => a + down[i]);
    layers.push({ xIn, h1, r1, qkv, att, xMid, h2, r2, gate, up, act });
  }
  const [hf, rf] = rmsNorm(x, p('norm.weight'), M, C, eps);
  const logits = linear(hf, p(head), null, M, C, V);
  const { loss, dlogits } = crossEntropy(logits, targets, M, V);

  // backward -----------------------------------------------------------------------------------
  const dhf = new Float64Array(M * C);
  linearBackward(dlogits, hf, p(head), M, C, V, dhf, g(head), null);
  let dx = new Float64Array(M * C);
  rmsNormBackward(dhf, x, rf, p('norm.weight'), M, C, dx, g('norm.weight'));
  for (let l = d.num_hidden_layers - 1; l >= 0; l--) {
    const n = (s: string) => `layers.${l}.${s}`;
    const L = layers[l];
    // x = xMid + down(silu(gate(h2))·up(h2))
    const dact = new Float64Array(M * I);
    const mb = mlpBias(d);
    linBack(n('mlp.down_proj'), dx, L.act, I, C, dact, mb);
    const dgate = new Float64Array(M * I);
    const dup = new Float64Array(M * I);
    for (let i = 0; i < dact.length; i++) {
      const z = L.gate[i];
      const s = sigmoid(z);
      dup[i] = dact[i] * z * s;
      dgate[i] = dact[i] * L.up[i] * s * (1 + z * (1 - s));
    }
    const dh2 = new Float64Array(M * C);
    linBack(n('mlp.gate_proj'), dgate, L.h2, C, I, dh2, mb);
    linBack(n('mlp.up_proj'), dup, L.h2, C, I, dh2, mb);
    const dxMid = dx.slice();
    const post = n('post_attention_layernorm.weight');
    rmsNormBackward(dh2, L.xMid, L.r2, p(post), M, C, dxMid, g(post));
    // xMid = xIn + o_proj(attn(rope(q), rope(k), v))
    const datt = new Float64Array(M * A);
    linBack(n('self_attn.o_proj'), dxMid, L.att, A, C, datt, oBias(d));
    const dqkv = attentionBackward(L.qkv, datt, attnShape(l));
    const dq = new Float64Array(M * A);
    const dk = new Float64Array(M * G);
    const dv = new Float64Array(M * G);
    for (let m = 0; m < M; m++) {
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / (H / K));
        for (let e = 0; e < D; e++) {
          dq[m * A + h * D + e] = dqkv[m * 3 * A + h * D + e];
          dk[m * G + kv * D + e] += dqkv[m * 3 * A + A + h * D + e];
          dv[m * G + kv * D + e] += dqkv[m * 3 * A + 2 * A + h * D + e];
        }
      }
    }
    rope(dq, M, T, H, D, inv, true);
    rope(dk, M, T, K, D, inv, true);
    const dh1 = new Float64Array(M * C);
    linBack(n('self_attn.q_proj'), dq, L.h1, C, A, dh1, qkvBias(d));
    linBack(n('self_attn.k_proj'), dk, L.h1, C, G, dh1, qkvBias(d));
    linBack(n('self_attn.v_proj'), dv, L.h1, C, G, dh1, qkvBias(d));
    const dxIn = dxMid.slice();
    rmsNormBackward(dh1, L.xIn, L.r1, p(n('input_layernorm.weight')), M, C, dxIn, g(n('input_layernorm.weight')));
    dx = dxIn;
  }
  const demb = g('embed_tokens.weight');
  for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) demb[tokens[m] * C + c] += dx[m * C + c];
  return { loss, logits, grads };
}
