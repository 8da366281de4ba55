// GPT-NeoX (GPTNeoXForCausalLM) in plain float64 TypeScript, forward and hand-written backward: the golden model the
// GPU model is checked against. It reads query_key_value as HF does (each head's rows [q_h | k_h | v_h]) and rotates
// the first rotary_ndims dims of each query and key head. Slow and obvious on purpose.
// Shapes are in the comments: M = B·T rows, C hidden, I MLP width, H heads of D dims.
import {
  attentionBias,
  neoxHeadDim,
  parallelResidual,
  rotaryDims,
  type NeoXDims,
} from '../families/gpt_neox_config.ts';
import { neoxHeadName, neoxInvFreq } from '../families/gpt_neox.ts';
import { parameterShapes } from '../families/index.ts';
import { attention, attentionBackward, crossEntropy, type RefParams, type RefResult } from './gpt2.ts';
import { linear, linearBackward } from './llama.ts';
import { layerNormBackward, layerNormForward } from '../../kernels/layernorm/reference.ts';
import { ropeReference } from '../../kernels/rope/reference.ts';
import { geluBackward, geluExactBackward, geluExactForward, geluForward } from '../../kernels/gelu/reference.ts';

/**
 * Mean next-token cross-entropy over targets ≠ IGNORE_INDEX (−100), the logits, and every parameter's gradient.
 * tokens, targets: (B, T) row-major, positions 0..T−1.
 */
export function referenceNeoXLossAndGrads(
  d: NeoXDims,
  params: RefParams,
  tokens: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
): RefResult {
  const C = d.hidden_size;
  const V = d.vocab_size;
  const I = d.intermediate_size;
  const H = d.num_attention_heads;
  const D = neoxHeadDim(d);
  const M = B * T;
  const eps = d.layer_norm_eps;
  const R = rotaryDims(d);
  const bias = attentionBias(d);
  const exact = (d.hidden_act ?? 'gelu') === 'gelu';
  const [gelu, geluBack] = exact ? [geluExactForward, geluExactBackward] : [geluForward, geluBackward];
  const rope = (x: Float64Array, direction: number) =>
    R === 0
      ? x
      : ropeReference(
          x,
          { B, T, nHeads: H, headDim: D, rotaryDim: R, invFreq: neoxInvFreq(d), position: 0 },
          direction,
        );
  const p = (name: string) => {
    const t = params.get(name);
    if (!t) throw new Error(`reference model: no parameter ${name}`);
    return t;
  };
  const grads: RefParams = new Map(
    parameterShapes(d).map(([n, s]) => [n, new Float64Array(s.reduce((a, b) => a * b, 1))]),
  );
  const g = (name: string) => grads.get(name)!;
  const lin = (name: string, x: Float64Array, K: number, N: number, has: boolean) =>
    linear(x, p(`${name}.weight`), has ? p(`${name}.bias`) : null, M, K, N);
  const linBack = (name: string, dy: Float64Array, x: Float64Array, K: number, N: number, has: boolean) => {
    const dx = new Float64Array(M * K);
    linearBackward(dy, x, p(`${name}.weight`), M, K, N, dx, g(`${name}.weight`), has ? g(`${name}.bias`) : null);
    return dx;
  };
  const norm = (name: string, x: Float64Array) =>
    layerNormForward(x, p(`${name}.weight`), p(`${name}.bias`), M, C, eps).y;
  /** the LayerNorm `name`'s backward at x: its parameters' gradients accumulated, dx returned */
  const normBack = (name: string, x: Float64Array, dy: Float64Array) => {
    const r = layerNormBackward(x, p(`${name}.weight`), dy, M, C, eps);
    r.dweight.forEach((v, i) => (g(`${name}.weight`)[i] += v));
    r.dbias.forEach((v, i) => (g(`${name}.bias`)[i] += v));
    return r.dx;
  };
  const add = (...xs: Float64Array[]) => xs[0].map((_, i) => xs.reduce((s, x) => s + x[i], 0));
  /** fused (M, 3C), per head [q_h | k_h | v_h] ↔ q, k, v (M, C) each */
  const at = (m: number, h: number, part: number, e: number) => m * 3 * C + h * 3 * D + part * D + e;
  const ones = new Float64Array(B * H * T * T).fill(1); // no attention dropout
  const head = neoxHeadName(d);

  // forward ------------------------------------------------------------------------------------
  const emb = p('embed_in.weight');
  let x = new Float64Array(M * C);
  for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) x[m * C + c] = emb[tokens[m] * C + c];
  const layers = [];
  for (let l = 0; l < d.num_hidden_layers; l++) {
    const n = (s: string) => `layers.${l}.${s}`;
    const xIn = x;
    const h1 = norm(n('input_layernorm'), xIn);
    const fused = lin(n('attention.query_key_value'), h1, C, 3 * C, bias);
    const parts = [0, 1, 2].map((part) => {
      const y = new Float64Array(M * C);
      for (let m = 0; m < M; m++)
        for (let h = 0; h < H; h++) for (let e = 0; e < D; e++) y[m * C + h * D + e] = fused[at(m, h, part, e)];
      return y;
    });
    const [q, k, v] = [rope(parts[0], 1), rope(parts[1], 1), parts[2]];
    const qkv = new Float64Array(M * 3 * C); // packed [q | k | v] per row
    for (let m = 0; m < M; m++) {
      qkv.set(q.subarray(m * C, (m + 1) * C), m * 3 * C);
      qkv.set(k.subarray(m * C, (m + 1) * C), m * 3 * C + C);
      qkv.set(v.subarray(m * C, (m + 1) * C), m * 3 * C + 2 * C);
    }
    const [att, P] = attention(qkv, B, T, C, H, ones);
    const o = lin(n('attention.dense'), att, C, C, bias);
    const mlpIn = parallelResidual(d) ? xIn : add(xIn, o);
    const h2 = norm(n('post_attention_layernorm'), mlpIn);
    const f = lin(n('mlp.dense_h_to_4h'), h2, C, I, true);
    const act = gelu(f);
    const mo = lin(n('mlp.dense_4h_to_h'), act, I, C, true);
    x = parallelResidual(d) ? add(mo, o, xIn) : add(mo, mlpIn);
    layers.push({ xIn, h1, qkv, P, att, mlpIn, h2, f, act });
  }
  const hf = norm('final_layer_norm', x);
  const logits = linear(hf, p(head), null, M, C, V);
  const { loss, dlogits } = crossEntropy(logits, targets, M, V);

  // backward -----------------------------------------------------------------------------------
  const dhf = new Float64Array(M * C);
  linearBackward(dlogits, hf, p(head), M, C, V, dhf, g(head), null);
  let dx = normBack('final_layer_norm', x, dhf);
  for (let l = d.num_hidden_layers - 1; l >= 0; l--) {
    const n = (s: string) => `layers.${l}.${s}`;
    const L = layers[l];
    // the MLP on mlpIn
    const dact = linBack(n('mlp.dense_4h_to_h'), dx, L.act, I, C, true);
    const df = geluBack(L.f, dact);
    const dh2 = linBack(n('mlp.dense_h_to_4h'), df, L.h2, C, I, true);
    const dMlpIn = normBack(n('post_attention_layernorm'), L.mlpIn, dh2);
    // the gradient reaching the attention's output, and the residual stream's so far
    const dO = parallelResidual(d) ? dx : add(dx, dMlpIn);
    const dResidual = parallelResidual(d) ? add(dx, dMlpIn) : dO;
    const datt = linBack(n('attention.dense'), dO, L.att, C, C, bias);
    const dqkv = attentionBackward(datt, L.qkv, L.P, ones, B, T, C, H);
    const dparts = [0, 1, 2].map((part) => {
      const y = new Float64Array(M * C);
      for (let m = 0; m < M; m++) y.set(dqkv.subarray(m * 3 * C + part * C, m * 3 * C + (part + 1) * C), m * C);
      return y;
    });
    const [dq, dk, dv] = [rope(dparts[0], -1), rope(dparts[1], -1), dparts[2]];
    const dfused = new Float64Array(M * 3 * C);
    for (let m = 0; m < M; m++) {
      for (let h = 0; h < H; h++) {
        for (let e = 0; e < D; e++) {
          dfused[at(m, h, 0, e)] = dq[m * C + h * D + e];
          dfused[at(m, h, 1, e)] = dk[m * C + h * D + e];
          dfused[at(m, h, 2, e)] = dv[m * C + h * D + e];
        }
      }
    }
    const dh1 = linBack(n('attention.query_key_value'), dfused, L.h1, C, 3 * C, bias);
    dx = add(dResidual, normBack(n('input_layernorm'), L.xIn, dh1));
  }
  const demb = g('embed_in.weight');
  for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) demb[tokens[m] * C + c] += dx[m * C + c];
  return { loss, logits, grads };
}
