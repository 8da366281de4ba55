// GPT-2 as Hugging Face's GPT2LMHeadModel runs it: parameters under GPT-2's names in Hugging Face's layouts (Conv1D
// weights [in, out]), GPT-2's initialisation, and the forward pieces: token + position embedding, the pre-LayerNorm
// block (attention, then a gelu_new MLP, each added to the residual stream), ln_f and the head tied to wte. The block
// and the embedding are shared with GPT-Neo, the same stack with other projections and attention.
import * as tf from '@tensorflow/tfjs-core';
import type { Attend, ForwardContext, ModelFamily } from '../family.ts';
import type { AttentionHeads, Ops } from '../ops.ts';
import { linear, type LinearLayer } from '../linear.ts';
import { siteSeed, type DropoutSite } from '../../kernels/dropout/seeds.ts';
import {
  gpt2ConfigFromJson,
  gpt2ConfigToJson,
  innerDim,
  validateGpt2Dims,
  type GPT2Config,
  type GPT2Dims,
} from './gpt2_config.ts';

type Context = ForwardContext<GPT2Dims>;

/** Every parameter by its GPT-2 name and shape, in GPT-2's order. */
function parameterShapes(d: GPT2Dims): [string, number[]][] {
  const C = d.n_embd;
  const H = innerDim(d);
  const out: [string, number[]][] = [
    ['wte.weight', [d.vocab_size, C]],
    ['wpe.weight', [d.n_positions, C]],
  ];
  for (let l = 0; l < d.n_layer; l++) out.push(...blockShapes(l, C, H));
  out.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  return out;
}

function blockShapes(l: number, C: number, H: number): [string, number[]][] {
  const p = `h.${l}.`;
  return [
    [`${p}ln_1.weight`, [C]],
    [`${p}ln_1.bias`, [C]],
    [`${p}attn.c_attn.weight`, [C, 3 * C]],
    [`${p}attn.c_attn.bias`, [3 * C]],
    [`${p}attn.c_proj.weight`, [C, C]],
    [`${p}attn.c_proj.bias`, [C]],
    [`${p}ln_2.weight`, [C]],
    [`${p}ln_2.bias`, [C]],
    [`${p}mlp.c_fc.weight`, [C, H]],
    [`${p}mlp.c_fc.bias`, [H]],
    [`${p}mlp.c_proj.weight`, [H, C]],
    [`${p}mlp.c_proj.bias`, [C]],
  ];
}

/** GPT-2's linear layers are Conv1D: weights [in, out], with a bias. */
const CONV1D = { fanInFanOut: true, bias: true };

/** Block l's Conv1D layers by module name, sizes and layout. */
function linearLayers(d: GPT2Dims): LinearLayer[] {
  const C = d.n_embd;
  const H = innerDim(d);
  const sizes: [string, number, number][] = [
    ['attn.c_attn', C, 3 * C],
    ['attn.c_proj', C, C],
    ['mlp.c_fc', C, H],
    ['mlp.c_proj', H, C],
  ];
  return Array.from({ length: d.n_layer }, (_, l) =>
    sizes.map(([m, inFeatures, outFeatures]) => ({
      module: `h.${l}.${m}`,
      layer: l,
      inFeatures,
      outFeatures,
      ...CONV1D,
    })),
  ).flat();
}

const w1 = <D>(ctx: ForwardContext<D>, name: string) => ctx.p(name) as tf.Tensor1D;
const w2 = <D>(ctx: ForwardContext<D>, name: string) => ctx.p(name) as tf.Tensor2D;

/** x with dropout at rate p when training (a seed given) and p > 0; x itself otherwise. */
function drop<D>(
  ctx: ForwardContext<D>,
  x: tf.Tensor2D,
  p: number | undefined,
  layer: number,
  site: DropoutSite,
): tf.Tensor2D {
  const seed = ctx.dropoutSeed;
  return seed !== undefined && p ? ctx.ops.dropout(x, p, siteSeed(seed, layer, site)) : x;
}

/** x + proj, then ln_2 of the sum: fused in one kernel when the ops have it. */
function addLayerNorm(
  ops: Ops,
  x: tf.Tensor2D,
  proj: tf.Tensor2D,
  w: tf.Tensor1D,
  b: tf.Tensor1D,
  eps: number,
): [tf.Tensor2D, tf.Tensor2D] {
  if (ops.addLayerNorm) return ops.addLayerNorm(x, proj, w, b, eps);
  const sum = tf.add(x, proj) as tf.Tensor2D;
  return [sum, ops.layerNorm(sum, w, b, eps)];
}

/**
 * What a block shaped as GPT-2's reads from its family (GPT-2's own; GPT-Neo's, families/gpt_neo.ts): the names of
 * its LayerNorms (ln1, ln2) and of its biased projections (attnOut, fc, proj; '.weight' and '.bias' appended), whether
 * those are nn.Linear [out, in] weights rather than GPT-2's Conv1D [in, out], its attention heads (and how their scores
 * are formed), and ln_1's output → the packed qkv (B·T, 3C).
 */
export interface Gpt2StyleBlock {
  ln1: string;
  ln2: string;
  attnOut: string;
  fc: string;
  proj: string;
  linear: boolean;
  heads: AttentionHeads;
  eps: number;
  /** dropout rates, applied in training steps only */
  residPdrop?: number;
  attnPdrop?: number;
  qkv(a: tf.Tensor2D): tf.Tensor2D;
}

/** Token + position embeddings (B·T, C) for positions position .. position+T−1 (packed rows: ctx.positionIds), then
 * embdPdrop when training. */
export function positionalEmbed<D>(
  ctx: ForwardContext<D>,
  tokens: Int32Array,
  B: number,
  T: number,
  position: number,
  C: number,
  embdPdrop: number | undefined,
): tf.Tensor2D {
  const e = ctx.ops.embedding(tokens, B, T, w2(ctx, 'wte.weight'), w2(ctx, 'wpe.weight'), position, ctx.positionIds);
  return drop(ctx, tf.reshape(e, [B * T, C]) as tf.Tensor2D, embdPdrop, -1, 'embedding');
}

/** Block l: x + attn(ln_1(x)), then + mlp(ln_2(·)), a gelu_new MLP. x: (B·T, C). When training, HF's three
 * dropouts (the attention probabilities', and one on each projection added to the residual stream). */
export function gpt2StyleBlock<D>(
  ctx: ForwardContext<D>,
  l: number,
  x: tf.Tensor2D,
  B: number,
  T: number,
  attend: Attend,
  b: Gpt2StyleBlock,
): tf.Tensor2D {
  const { ops, dropoutSeed: seed } = ctx;
  const { heads, eps } = b;
  const C = heads.nHead * heads.headDim;
  const project = (x: tf.Tensor2D, name: string, activation?: 'gelu') =>
    linear(ctx, x, name, { fanInFanOut: !b.linear, bias: true, activation });
  const a = ops.layerNorm(x, w1(ctx, `${b.ln1}.weight`), w1(ctx, `${b.ln1}.bias`), eps);
  const qkv = b.qkv(a); // (B·T, 3C)
  const attnP = seed !== undefined ? (b.attnPdrop ?? 0) : 0;
  const attnDropout = attnP > 0 ? { p: attnP, seed: siteSeed(seed!, l, 'attention') } : undefined;
  const att = attend(l, tf.reshape(qkv, [B, T, 3 * C]) as tf.Tensor3D, heads, attnDropout); // (B, T, C)
  const proj = project(tf.reshape(att, [B * T, C]) as tf.Tensor2D, b.attnOut);
  const [mid, m] = addLayerNorm(
    ops,
    x,
    drop(ctx, proj, b.residPdrop, l, 'attentionResidual'),
    w1(ctx, `${b.ln2}.weight`),
    w1(ctx, `${b.ln2}.bias`),
    eps,
  );
  const h = project(m, b.fc, 'gelu'); // (B·T, 4C)
  const mlp = project(h, b.proj);
  return tf.add(mid, drop(ctx, mlp, b.residPdrop, l, 'mlpResidual'));
}

export const gpt2: ModelFamily<GPT2Dims, GPT2Config> = {
  modelType: 'gpt2',
  label: 'GPT-2',
  configFromJson: gpt2ConfigFromJson,
  configToJson: gpt2ConfigToJson,
  hfWeights: {
    prefix: 'transformer.',
    isBuffer: (name) => /^h\.\d+\.attn\.(bias|masked_bias)$/.test(name),
    tiedHead: { name: 'lm_head.weight', tiedTo: 'wte.weight' },
    writePrefix: false,
  },

  sizes: (d) => ({
    vocab_size: d.vocab_size,
    max_position_embeddings: d.n_positions,
    hidden_size: d.n_embd,
    num_hidden_layers: d.n_layer,
    num_attention_heads: d.n_head,
    num_key_value_heads: d.n_head,
    head_dim: d.n_embd / d.n_head,
  }),

  validate: validateGpt2Dims,
  parameterShapes,
  linearLayers,

  /**
   * GPT-2's initialisation: weights and embeddings N(0, 0.02), biases 0, LayerNorm 1/0, and the residual projections
   * (attn.c_proj, mlp.c_proj) N(0, 0.02/√(2·n_layer)) so the residual stream's variance does not grow with depth
   * (GPT-2 paper §2.3).
   */
  initialValues(d, name, size, rng) {
    const std = 0.02;
    if (name.endsWith('.bias')) return new Float32Array(size);
    if (/ln_\d\.weight$|ln_f\.weight$/.test(name)) return new Float32Array(size).fill(1);
    return rng.normals(size, /c_proj\.weight$/.test(name) ? std / Math.sqrt(2 * d.n_layer) : std);
  },

  embeddingParameters: () => ['wte.weight', 'wpe.weight'],
  blockParameters: (d, l) => blockShapes(l, d.n_embd, innerDim(d)).map(([name]) => name),
  headParameters: () => ['ln_f.weight', 'ln_f.bias', 'wte.weight'],

  /** Token + position embeddings, (B·T, C), then embd_pdrop when training. */
  embed: (ctx, tokens, B, T, position) =>
    positionalEmbed(ctx, tokens, B, T, position, ctx.dims.n_embd, ctx.dims.embd_pdrop),

  /** Block l: x + attn(ln_1(x)), then + mlp(ln_2(·)). x: (B·T, C). When training, HF's three dropouts. */
  block(ctx: Context, l: number, x: tf.Tensor2D, B: number, T: number, attend: Attend): tf.Tensor2D {
    const d = ctx.dims;
    const n = (s: string) => `h.${l}.${s}`;
    return gpt2StyleBlock(ctx, l, x, B, T, attend, {
      ln1: n('ln_1'),
      ln2: n('ln_2'),
      attnOut: n('attn.c_proj'),
      fc: n('mlp.c_fc'),
      proj: n('mlp.c_proj'),
      linear: false,
      heads: { nHead: d.n_head, nKvHead: d.n_head, headDim: d.n_embd / d.n_head },
      eps: d.layer_norm_epsilon,
      residPdrop: d.resid_pdrop,
      attnPdrop: d.attn_pdrop,
      qkv: (a) => linear(ctx, a, n('attn.c_attn'), CONV1D),
    });
  },

  finalNorm: (ctx, x) =>
    ctx.ops.layerNorm(x, w1(ctx, 'ln_f.weight'), w1(ctx, 'ln_f.bias'), ctx.dims.layer_norm_epsilon),

  /** The head is tied to the token embedding: logits = h · wteᵀ. */
  logits: (ctx, h) => ctx.ops.matmul(h, w2(ctx, 'wte.weight'), { transposeB: true }),
};
