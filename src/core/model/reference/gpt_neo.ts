// GPT-Neo (GPTNeoForCausalLM) in plain float64 TypeScript, forward and hand-written backward, without dropout: the
// golden model the GPU model is checked against. Slow and obvious on purpose. The attention is the kernels' float64
// reference (unscaled scores, a local layer's window). M = B·T rows, C hidden, I the MLP's width.
import { gptNeoInnerDim, gptNeoTiedHead, gptNeoWindow, type GptNeoDims } from '../families/gpt_neo_config.ts';
import { parameterShapes } from '../families/index.ts';
import { attentionForward, attentionBackward, type AttentionShape } from '../../kernels/attention/reference.ts';
import {
  crossEntropy,
  geluNew,
  geluNewGrad,
  layerNorm,
  layerNormBackward,
  type LNCache,
  type RefParams,
  type RefResult,
} from './gpt2.ts';
import { linear, linearBackward } from './llama.ts';

/**
 * Mean next-token cross-entropy over targets ≠ IGNORE_INDEX (−100), the logits, and every parameter's gradient.
 * tokens, targets: (B, T) row-major, positions 0..T−1.
 */
export function referenceGptNeoLossAndGrads(
  d: GptNeoDims,
  params: RefParams,
  tokens: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
): RefResult {
  const C = d.hidden_size;
  const I = gptNeoInnerDim(d);
  const V = d.vocab_size;
  const M = B * T;
  const eps = d.layer_norm_epsilon;
  const p = (name: string) => {
    const t = params.get(name);
    if (!t) throw new Error(`reference model: no parameter ${name}`);
    return t;
  };
  const grads: RefParams = new Map(
    parameterShapes(d).map(([n, s]) => [n, new Float64Array(s.reduce((a, b) => a * b, 1))]),
  );
  const g = (name: string) => grads.get(name)!;
  const head = gptNeoTiedHead(d) ? 'wte.weight' : 'lm_head.weight';
  const attnShape = (l: number): AttentionShape => ({
    B,
    T,
    C,
    nHead: d.num_heads,
    scaled: false,
    window: gptNeoWindow(d, l),
  });
  const ln = (x: Float64Array, name: string) => layerNorm(x, p(`${name}.weight`), p(`${name}.bias`), M, C, eps);
  const lnBack = (dy: Float64Array, cache: LNCache, name: string, dx: Float64Array) =>
    layerNormBackward(dy, cache, p(`${name}.weight`), M, C, dx, g(`${name}.weight`), g(`${name}.bias`));
  /** the Linear `name` on x (M, K) → (M, N), with its bias when `bias` */
  const lin = (name: string, x: Float64Array, K: number, N: number, bias: boolean) =>
    linear(x, p(`${name}.weight`), bias ? p(`${name}.bias`) : null, M, K, N);
  const linBack = (
    name: string,
    dy: Float64Array,
    x: Float64Array,
    K: number,
    N: number,
    dx: Float64Array,
    bias: boolean,
  ) => linearBackward(dy, x, p(`${name}.weight`), M, K, N, dx, g(`${name}.weight`), bias ? g(`${name}.bias`) : null);

  // forward ------------------------------------------------------------------------------------
  const wte = p('wte.weight');
  const wpe = p('wpe.weight');
  let x = new Float64Array(M * C);
  for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) x[m * C + c] = wte[tokens[m] * C + c] + wpe[(m % T) * C + c];
  const layers = [];
  for (let l = 0; l < d.num_layers; l++) {
    const n = (s: string) => `h.${l}.${s}`;
    const xIn = x;
    const [ln1, ln1c] = ln(xIn, n('ln_1'));
    const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((s) => lin(n(`attn.attention.${s}`), ln1, C, C, false));
    const qkv = new Float64Array(M * 3 * C); // (M, 3C) packed [q | k | v]
    for (let m = 0; m < M; m++) {
      qkv.set(q.subarray(m * C, (m + 1) * C), m * 3 * C);
      qkv.set(k.subarray(m * C, (m + 1) * C), m * 3 * C + C);
      qkv.set(v.subarray(m * C, (m + 1) * C), m * 3 * C + 2 * C);
    }
    const att = attentionForward(qkv, attnShape(l)).out;
    const o = lin(n('attn.attention.out_proj'), att, C, C, true);
    const xMid = xIn.map((a, i) => a + o[i]);
    const [ln2, ln2c] = ln(xMid, n('ln_2'));
    const pre = lin(n('mlp.c_fc'), ln2, C, I, true);
    const act = pre.map(geluNew);
    const mlp = lin(n('mlp.c_proj'), act, I, C, true);
    x = xMid.map((a, i) => a + mlp[i]);
    layers.push({ xIn, ln1, ln1c, qkv, att, xMid, ln2, ln2c, pre, act });
  }
  const [lnf, lnfc] = ln(x, 'ln_f');
  const logits = linear(lnf, p(head), null, M, C, V);
  const { loss, dlogits } = crossEntropy(logits, targets, M, V);

  // backward -----------------------------------------------------------------------------------
  const dlnf = new Float64Array(M * C);
  linearBackward(dlogits, lnf, p(head), M, C, V, dlnf, g(head), null);
  let dx = new Float64Array(M * C);
  lnBack(dlnf, lnfc, 'ln_f', dx);
  for (let l = d.num_layers - 1; l >= 0; l--) {
    const n = (s: string) => `h.${l}.${s}`;
    const L = layers[l];
    // x = xMid + c_proj(gelu(c_fc(ln_2(xMid))))
    const dact = new Float64Array(M * I);
    linBack(n('mlp.c_proj'), dx, L.act, I, C, dact, true);
    const dpre = dact.map((a, i) => a * geluNewGrad(L.pre[i]));
    const dln2 = new Float64Array(M * C);
    linBack(n('mlp.c_fc'), dpre, L.ln2, C, I, dln2, true);
    const dxMid = dx.slice();
    lnBack(dln2, L.ln2c, n('ln_2'), dxMid);
    // xMid = xIn + out_proj(attn(q, k, v of ln_1(xIn)))
    const datt = new Float64Array(M * C);
    linBack(n('attn.attention.out_proj'), dxMid, L.att, C, C, datt, true);
    const dqkv = attentionBackward(L.qkv, datt, attnShape(l));
    const dln1 = new Float64Array(M * C);
    ['q_proj', 'k_proj', 'v_proj'].forEach((s, part) => {
      const dy = new Float64Array(M * C);
      for (let m = 0; m < M; m++) dy.set(dqkv.subarray(m * 3 * C + part * C, m * 3 * C + (part + 1) * C), m * C);
      linBack(n(`attn.attention.${s}`), dy, L.ln1, C, C, dln1, false);
    });
    const dxIn = dxMid.slice();
    lnBack(dln1, L.ln1c, n('ln_1'), dxIn);
    dx = dxIn;
  }
  const dwte = g('wte.weight');
  const dwpe = g('wpe.weight');
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < C; c++) {
      dwte[tokens[m] * C + c] += dx[m * C + c];
      dwpe[(m % T) * C + c] += dx[m * C + c];
    }
  }
  return { loss, logits, grads };
}
