// GPT-NeoX (EleutherAI's Pythia models) as Hugging Face's GPTNeoXForCausalLM runs it: parameters under HF's names
// without "gpt_neox." (Linear weights [out, in], read with transposed matmuls), HF's initialisation, and the forward
// pieces: the token embedding, the block (LayerNorms with biases; attention with partial rotary on the first
// rotary_ndims dims of each head; an exact-GELU MLP; the two added to the residual stream in parallel or one after
// the other), the final LayerNorm and the head (embed_out, or embed_in when tied).
//
// query_key_value is kept as HF stores it, its output rows per head [q_h | k_h | v_h], so files are read and written
// as they are; the forward regroups its output into the packed [q | k | v] the attention ops take. A LoRA adapter on it
// sees the same fused rows (its B's rows per head [q_h | k_h | v_h]), as PEFT does.
import * as tf from '@tensorflow/tfjs-core';
import type { Attend, ForwardContext, ModelFamily } from '../family.ts';
import type { Ops } from '../ops.ts';
import { ropeInvFreq } from '../rope.ts';
import { linear as linearLayer, nnLinearLayers } from '../linear.ts';
import {
  attentionBias,
  neoxActivation,
  neoxConfigFromJson,
  neoxConfigToJson,
  neoxHeadDim,
  neoxTiedHead,
  parallelResidual,
  rotaryBase,
  rotaryDims,
  validateNeoXDims,
  type NeoXConfig,
  type NeoXDims,
} from './gpt_neox_config.ts';

type Context = ForwardContext<NeoXDims>;

/** Block l's parameters by name and shape, in HF's order. */
function blockShapes(d: NeoXDims, l: number): [string, number[]][] {
  const C = d.hidden_size;
  const I = d.intermediate_size;
  const p = `layers.${l}.`;
  const out: [string, number[]][] = [];
  const linear = (name: string, outDim: number, inDim: number, bias: boolean) => {
    out.push([`${p}${name}.weight`, [outDim, inDim]]);
    if (bias) out.push([`${p}${name}.bias`, [outDim]]);
  };
  for (const norm of ['input_layernorm', 'post_attention_layernorm'])
    out.push([`${p}${norm}.weight`, [C]], [`${p}${norm}.bias`, [C]]);
  linear('attention.query_key_value', 3 * C, C, attentionBias(d));
  linear('attention.dense', C, C, attentionBias(d));
  linear('mlp.dense_h_to_4h', I, C, true);
  linear('mlp.dense_4h_to_h', C, I, true);
  return out;
}

function parameterShapes(d: NeoXDims): [string, number[]][] {
  const C = d.hidden_size;
  const out: [string, number[]][] = [['embed_in.weight', [d.vocab_size, C]]];
  for (let l = 0; l < d.num_hidden_layers; l++) out.push(...blockShapes(d, l));
  out.push(['final_layer_norm.weight', [C]], ['final_layer_norm.bias', [C]]);
  if (!neoxTiedHead(d)) out.push(['embed_out.weight', [d.vocab_size, C]]);
  return out;
}

export const neoxHeadName = (d: NeoXDims): string => (neoxTiedHead(d) ? 'embed_in.weight' : 'embed_out.weight');

/** The inverse frequencies of a model's rotary embedding (rotary_ndims / 2 of them), computed once per dims. */
const invFreqs = new WeakMap<NeoXDims, Float32Array>();
export function neoxInvFreq(d: NeoXDims): Float32Array {
  let f = invFreqs.get(d);
  if (!f) invFreqs.set(d, (f = ropeInvFreq(rotaryDims(d), rotaryBase(d))));
  return f;
}

const w1 = (ctx: Context, name: string) => ctx.p(name) as tf.Tensor1D;

/** x · Wᵀ (+ b) (then the activation): a Linear layer with its [out, in] weight, and its adapter when it has one. */
const linear = (
  ctx: Context,
  x: tf.Tensor2D,
  name: string,
  bias: boolean,
  activation?: 'gelu' | 'gelu_exact',
): tf.Tensor2D => linearLayer(ctx, x, name, { fanInFanOut: false, bias, activation });

/** x + residual, then LayerNorm of the sum: fused in one kernel when the ops have it. */
function addLayerNorm(ops: Ops, x: tf.Tensor2D, residual: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D, eps: number) {
  if (ops.addLayerNorm) return ops.addLayerNorm(x, residual, w, b, eps);
  const sum = tf.add(x, residual) as tf.Tensor2D;
  return [sum, ops.layerNorm(sum, w, b, eps)] as [tf.Tensor2D, tf.Tensor2D];
}

export const gptNeoX: ModelFamily<NeoXDims, NeoXConfig> = {
  modelType: 'gpt_neox',
  label: 'GPT-NeoX',
  configFromJson: neoxConfigFromJson,
  configToJson: neoxConfigToJson,
  hfWeights: {
    prefix: 'gpt_neox.',
    // the causal mask and masked_bias (older files, per layer) and rotary_emb.inv_freq (per layer, or the model's)
    isBuffer: (name) =>
      /^layers\.\d+\.attention\.(bias|masked_bias)$/.test(name) || /(^|\.)rotary_emb\.inv_freq$/.test(name),
    tiedHead: { name: 'embed_out.weight', tiedTo: 'embed_in.weight' },
    writePrefix: true,
    outsidePrefix: ['embed_out.weight'],
  },

  sizes: (d) => ({
    vocab_size: d.vocab_size,
    max_position_embeddings: d.max_position_embeddings,
    hidden_size: d.hidden_size,
    num_hidden_layers: d.num_hidden_layers,
    num_attention_heads: d.num_attention_heads,
    num_key_value_heads: d.num_attention_heads,
    head_dim: neoxHeadDim(d),
  }),

  validate: validateNeoXDims,
  parameterShapes,
  linearLayers: (d) => nnLinearLayers(d.num_hidden_layers, (l) => blockShapes(d, l)),

  /** HF's _init_weights: Linear and Embedding weights N(0, initializer_range), biases 0, LayerNorm weights 1. */
  initialValues(d, name, size, rng) {
    if (name.endsWith('.bias')) return new Float32Array(size);
    if (name.endsWith('layernorm.weight') || name === 'final_layer_norm.weight') return new Float32Array(size).fill(1);
    return rng.normals(size, d.initializer_range ?? 0.02);
  },

  embeddingParameters: () => ['embed_in.weight'],
  blockParameters: (d, l) => blockShapes(d, l).map(([name]) => name),
  headParameters: (d) => ['final_layer_norm.weight', 'final_layer_norm.bias', neoxHeadName(d)],

  embed(ctx, tokens, B, T) {
    const e = ctx.ops.embedding(tokens, B, T, ctx.p('embed_in.weight') as tf.Tensor2D);
    return tf.reshape(e, [B * T, ctx.dims.hidden_size]) as tf.Tensor2D;
  },

  /**
   * Block l on x (B·T, C): a = dense(attn(rope(q), rope(k), v)) on input_layernorm(x); m(y) =
   * dense_4h_to_h(gelu(dense_h_to_4h(post_attention_layernorm(y)))); then x + a + m(x) (parallel residual), or
   * x' = x + a and x' + m(x').
   */
  block(ctx: Context, l: number, x: tf.Tensor2D, B: number, T: number, attend: Attend): tf.Tensor2D {
    const { dims: d, ops } = ctx;
    const eps = d.layer_norm_eps;
    const n = (s: string) => `layers.${l}.${s}`;
    const C = d.hidden_size;
    const H = d.num_attention_heads;
    const D = neoxHeadDim(d);
    const M = B * T;
    const R = rotaryDims(d);
    const norm = (y: tf.Tensor2D, name: string) =>
      ops.layerNorm(y, w1(ctx, n(`${name}.weight`)), w1(ctx, n(`${name}.bias`)), eps);
    const h = norm(x, 'input_layernorm');
    // (M, 3C) with each head's rows [q_h | k_h | v_h] → (M, 3C) packed [q | k | v]
    const fused = linear(ctx, h, n('attention.query_key_value'), attentionBias(d));
    let qkv = tf.reshape(tf.transpose(tf.reshape(fused, [M, H, 3, D]), [0, 2, 1, 3]), [M, 3 * C]) as tf.Tensor2D;
    if (R > 0) {
      // q and k together: 2H heads at the same positions
      const qk = tf.slice(qkv, [0, 0], [M, 2 * C]);
      const v = tf.slice(qkv, [0, 2 * C], [M, C]);
      const spec = {
        B,
        T,
        nHeads: 2 * H,
        headDim: D,
        rotaryDim: R,
        invFreq: neoxInvFreq(d),
        position: ctx.position ?? 0,
        positions: ctx.positionIds,
      };
      qkv = tf.concat([ops.rope(qk, spec), v], 1);
    }
    const heads = { nHead: H, nKvHead: H, headDim: D };
    const att = tf.reshape(attend(l, tf.reshape(qkv, [B, T, 3 * C]) as tf.Tensor3D, heads), [M, C]) as tf.Tensor2D;
    const a = linear(ctx, att, n('attention.dense'), attentionBias(d));
    const mlp = (y: tf.Tensor2D) =>
      linear(ctx, linear(ctx, y, n('mlp.dense_h_to_4h'), true, neoxActivation(d)), n('mlp.dense_4h_to_h'), true);
    if (parallelResidual(d)) return tf.add(tf.add(mlp(norm(x, 'post_attention_layernorm')), a), x);
    const post = (s: string) => w1(ctx, n(`post_attention_layernorm.${s}`));
    const [mid, m] = addLayerNorm(ops, a, x, post('weight'), post('bias'), eps);
    return tf.add(mlp(m), mid);
  },

  finalNorm: (ctx, x) =>
    ctx.ops.layerNorm(x, w1(ctx, 'final_layer_norm.weight'), w1(ctx, 'final_layer_norm.bias'), ctx.dims.layer_norm_eps),

  /** logits = h · embed_outᵀ, or h · embed_inᵀ when tied. */
  logits: (ctx, h) => ctx.ops.matmul(h, ctx.p(neoxHeadName(ctx.dims)) as tf.Tensor2D, { transposeB: true }),
};
