// The Llama family as Hugging Face's LlamaForCausalLM (and MistralForCausalLM, Qwen2ForCausalLM, the same stack)
// runs it: parameters under HF's names without "model." (Linear weights [out, in], read with transposed matmuls),
// HF's initialisation, and the forward pieces: the token embedding, the pre-RMSNorm block (rotary grouped-query
// attention, then a SwiGLU MLP, each added to the residual stream), the final RMSNorm and the head (lm_head, or the
// token embedding when tied).
import * as tf from '@tensorflow/tfjs-core';
import type { Attend, ForwardContext, ModelFamily } from '../family.ts';
import type { Ops } from '../ops.ts';
import { ropeInvFreq } from '../rope.ts';
import { linear as linearLayer, nnLinearLayers } from '../linear.ts';
import {
  headDim,
  kvHeads,
  llamaConfigFromJson,
  llamaConfigToJson,
  mlpBias,
  oBias,
  qkvBias,
  ropeTheta,
  slidingWindow,
  tiedHead,
  validateLlamaDims,
  type LlamaConfig,
  type LlamaDims,
  type LlamaModelType,
} from './llama_config.ts';

type Context = ForwardContext<LlamaDims>;

const LINEARS = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;

/** Block l's parameters by name and shape, in HF's order. */
function blockShapes(d: LlamaDims, l: number): [string, number[]][] {
  const C = d.hidden_size;
  const D = headDim(d);
  const H = d.num_attention_heads * D;
  const K = kvHeads(d) * D;
  const I = d.intermediate_size;
  const p = `layers.${l}.`;
  const out: [string, number[]][] = [];
  const linear = (name: string, outDim: number, inDim: number, bias: boolean) => {
    out.push([`${p}${name}.weight`, [outDim, inDim]]);
    if (bias) out.push([`${p}${name}.bias`, [outDim]]);
  };
  const attnOut = { q_proj: H, k_proj: K, v_proj: K, o_proj: C };
  for (const name of LINEARS) {
    const bias = name === 'o_proj' ? oBias(d) : qkvBias(d);
    linear(`self_attn.${name}`, attnOut[name], name === 'o_proj' ? H : C, bias);
  }
  linear('mlp.gate_proj', I, C, mlpBias(d));
  linear('mlp.up_proj', I, C, mlpBias(d));
  linear('mlp.down_proj', C, I, mlpBias(d));
  out.push([`${p}input_layernorm.weight`, [C]], [`${p}post_attention_layernorm.weight`, [C]]);
  return out;
}

function parameterShapes(d: LlamaDims): [string, number[]][] {
  const out: [string, number[]][] = [['embed_tokens.weight', [d.vocab_size, d.hidden_size]]];
  for (let l = 0; l < d.num_hidden_layers; l++) out.push(...blockShapes(d, l));
  out.push(['norm.weight', [d.hidden_size]]);
  if (!tiedHead(d)) out.push(['lm_head.weight', [d.vocab_size, d.hidden_size]]);
  return out;
}

const headName = (d: LlamaDims) => (tiedHead(d) ? 'embed_tokens.weight' : 'lm_head.weight');

/** The inverse frequencies of a model's rotary embedding, computed once per dims. */
const invFreqs = new WeakMap<LlamaDims, Float32Array>();
export function llamaInvFreq(d: LlamaDims): Float32Array {
  let f = invFreqs.get(d);
  if (!f) invFreqs.set(d, (f = ropeInvFreq(headDim(d), ropeTheta(d), d.rope_scaling)));
  return f;
}

const w1 = (ctx: Context, name: string) => ctx.p(name) as tf.Tensor1D;

/** x · Wᵀ (+ b): a Linear layer of block l with its [out, in] weight. */
const linear = (ctx: Context, x: tf.Tensor2D, name: string, bias: boolean) =>
  linearLayer(ctx, x, name, { fanInFanOut: false, bias });

/** x + residual, then RMSNorm of the sum: fused in one kernel when the ops have it. */
function addRmsNorm(ops: Ops, x: tf.Tensor2D, residual: tf.Tensor2D, w: tf.Tensor1D, eps: number) {
  if (ops.addRmsNorm) return ops.addRmsNorm(x, residual, w, eps);
  const sum = tf.add(x, residual) as tf.Tensor2D;
  return [sum, ops.rmsNorm(sum, w, eps)] as [tf.Tensor2D, tf.Tensor2D];
}

function llamaFamily(modelType: LlamaModelType, label: string): ModelFamily<LlamaDims, LlamaConfig> {
  return {
    modelType,
    label,
    configFromJson: llamaConfigFromJson,
    configToJson: llamaConfigToJson,
    hfWeights: {
      prefix: 'model.',
      // HF's rotary_emb.inv_freq is a non-persistent buffer, but older files hold it per layer
      isBuffer: (name) => /(^|\.)rotary_emb\.inv_freq$/.test(name),
      tiedHead: { name: 'lm_head.weight', tiedTo: 'embed_tokens.weight' },
      writePrefix: true,
      outsidePrefix: ['lm_head.weight'],
    },

    sizes: (d) => ({
      vocab_size: d.vocab_size,
      max_position_embeddings: d.max_position_embeddings,
      hidden_size: d.hidden_size,
      num_hidden_layers: d.num_hidden_layers,
      num_attention_heads: d.num_attention_heads,
      num_key_value_heads: kvHeads(d),
      head_dim: headDim(d),
    }),

    validate: validateLlamaDims,
    parameterShapes,
    linearLayers: (d) => nnLinearLayers(d.num_hidden_layers, (l) => blockShapes(d, l)),

    /** HF's _init_weights: Linear and Embedding weights N(0, initializer_range), biases 0, RMSNorm weights 1. */
    initialValues(d, name, size, rng) {
      if (name.endsWith('.bias')) return new Float32Array(size);
      if (name.endsWith('norm.weight')) return new Float32Array(size).fill(1);
      return rng.normals(size, d.initializer_range ?? 0.02);
    },

    embeddingParameters: () => ['embed_tokens.weight'],
    blockParameters: (d, l) => blockShapes(d, l).map(([name]) => name),
    headParameters: (d) => ['norm.weight', headName(d)],

    embed(ctx, tokens, B, T) {
      const e = ctx.ops.embedding(tokens, B, T, ctx.p('embed_tokens.weight') as tf.Tensor2D);
      return tf.reshape(e, [B * T, ctx.dims.hidden_size]) as tf.Tensor2D;
    },

    /** Block l: x + o_proj(attn(rope(q), rope(k), v)) on input_layernorm(x) (within the layer's slidingWindow), then
     * + down(silu(gate)·up) on the sum's post_attention_layernorm. x: (B·T, hidden). */
    block(ctx: Context, l: number, x: tf.Tensor2D, B: number, T: number, attend: Attend): tf.Tensor2D {
      const { dims: d, ops } = ctx;
      const eps = d.rms_norm_eps;
      const n = (s: string) => `layers.${l}.${s}`;
      const D = headDim(d);
      const heads = { nHead: d.num_attention_heads, nKvHead: kvHeads(d), headDim: D, window: slidingWindow(d, l) };
      const h = ops.rmsNorm(x, w1(ctx, n('input_layernorm.weight')), eps);
      const rope = (t: tf.Tensor2D, nHeads: number) =>
        ops.rope(t, {
          B,
          T,
          nHeads,
          headDim: D,
          rotaryDim: D,
          invFreq: llamaInvFreq(d),
          position: ctx.position ?? 0,
          positions: ctx.positionIds,
        });
      const q = rope(linear(ctx, h, n('self_attn.q_proj'), qkvBias(d)), heads.nHead);
      const k = rope(linear(ctx, h, n('self_attn.k_proj'), qkvBias(d)), heads.nKvHead);
      const v = linear(ctx, h, n('self_attn.v_proj'), qkvBias(d));
      const qkv = tf.reshape(tf.concat([q, k, v], 1), [B, T, (heads.nHead + 2 * heads.nKvHead) * D]) as tf.Tensor3D;
      const att = tf.reshape(attend(l, qkv, heads), [B * T, heads.nHead * D]) as tf.Tensor2D;
      const o = linear(ctx, att, n('self_attn.o_proj'), oBias(d));
      const [mid, m] = addRmsNorm(ops, x, o, w1(ctx, n('post_attention_layernorm.weight')), eps);
      const gate = linear(ctx, m, n('mlp.gate_proj'), mlpBias(d));
      const up = linear(ctx, m, n('mlp.up_proj'), mlpBias(d));
      const down = linear(ctx, ops.swiglu(gate, up), n('mlp.down_proj'), mlpBias(d));
      return tf.add(mid, down);
    },

    finalNorm: (ctx, x) => ctx.ops.rmsNorm(x, w1(ctx, 'norm.weight'), ctx.dims.rms_norm_eps),

    /** logits = h · lm_headᵀ, or h · embed_tokensᵀ when tied. */
    logits: (ctx, h) => ctx.ops.matmul(h, ctx.p(headName(ctx.dims)) as tf.Tensor2D, { transposeB: true }),
  };
}

export const llama = llamaFamily('llama', 'Llama');
export const mistral = llamaFamily('mistral', 'Mistral');
export const qwen2 = llamaFamily('qwen2', 'Qwen2');
