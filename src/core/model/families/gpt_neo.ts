// GPT-Neo as Hugging Face's GPTNeoForCausalLM runs it (EleutherAI's GPT-Neo, the TinyStories models): parameters under
// HF's names without "transformer." (nn.Linear weights [out, in], read with transposed matmuls), HF's initialisation,
// and the forward pieces: GPT-2's stack (token + position embedding, pre-LayerNorm blocks, ln_f, the head tied to wte)
// with GPT-Neo's attention: q, k and v projections without biases, scores q·k without GPT-2's 1/√head_dim, and on
// "local" layers a window of the last window_size positions.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelFamily } from '../family.ts';
import { gpt2StyleBlock, positionalEmbed } from './gpt2.ts';
import { linear, nnLinearLayers } from '../linear.ts';
import {
  gptNeoConfigFromJson,
  gptNeoConfigToJson,
  gptNeoInnerDim,
  gptNeoTiedHead,
  gptNeoWindow,
  validateGptNeoDims,
  type GptNeoConfig,
  type GptNeoDims,
} from './gpt_neo_config.ts';

const QKV = ['k_proj', 'v_proj', 'q_proj'] as const;

/** Block l's parameters by name and shape, in HF's order. */
function blockShapes(d: GptNeoDims, l: number): [string, number[]][] {
  const C = d.hidden_size;
  const I = gptNeoInnerDim(d);
  const p = `h.${l}.`;
  return [
    [`${p}ln_1.weight`, [C]],
    [`${p}ln_1.bias`, [C]],
    ...QKV.map((name): [string, number[]] => [`${p}attn.attention.${name}.weight`, [C, C]]),
    [`${p}attn.attention.out_proj.weight`, [C, C]],
    [`${p}attn.attention.out_proj.bias`, [C]],
    [`${p}ln_2.weight`, [C]],
    [`${p}ln_2.bias`, [C]],
    [`${p}mlp.c_fc.weight`, [I, C]],
    [`${p}mlp.c_fc.bias`, [I]],
    [`${p}mlp.c_proj.weight`, [C, I]],
    [`${p}mlp.c_proj.bias`, [C]],
  ];
}

function parameterShapes(d: GptNeoDims): [string, number[]][] {
  const C = d.hidden_size;
  const out: [string, number[]][] = [
    ['wte.weight', [d.vocab_size, C]],
    ['wpe.weight', [d.max_position_embeddings, C]],
  ];
  for (let l = 0; l < d.num_layers; l++) out.push(...blockShapes(d, l));
  out.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  if (!gptNeoTiedHead(d)) out.push(['lm_head.weight', [d.vocab_size, C]]);
  return out;
}

const headName = (d: GptNeoDims) => (gptNeoTiedHead(d) ? 'wte.weight' : 'lm_head.weight');

export const gptNeo: ModelFamily<GptNeoDims, GptNeoConfig> = {
  modelType: 'gpt_neo',
  label: 'GPT-Neo',
  configFromJson: gptNeoConfigFromJson,
  configToJson: gptNeoConfigToJson,
  hfWeights: {
    prefix: 'transformer.',
    // each attention's causal mask and masked_bias, which older files hold
    isBuffer: (name) => /^h\.\d+\.attn\.attention\.(bias|masked_bias)$/.test(name),
    tiedHead: { name: 'lm_head.weight', tiedTo: 'wte.weight' },
    writePrefix: true,
    outsidePrefix: ['lm_head.weight'],
  },

  sizes: (d) => ({
    vocab_size: d.vocab_size,
    max_position_embeddings: d.max_position_embeddings,
    hidden_size: d.hidden_size,
    num_hidden_layers: d.num_layers,
    num_attention_heads: d.num_heads,
    num_key_value_heads: d.num_heads,
    head_dim: d.hidden_size / d.num_heads,
  }),

  validate: validateGptNeoDims,
  parameterShapes,
  linearLayers: (d) => nnLinearLayers(d.num_layers, (l) => blockShapes(d, l)),

  /** HF's _init_weights: Linear and Embedding weights N(0, 0.02) (initializer_range), biases 0, LayerNorm 1/0. */
  initialValues(d, name, size, rng) {
    if (name.endsWith('.bias')) return new Float32Array(size);
    if (/ln_(\d|f)\.weight$/.test(name)) return new Float32Array(size).fill(1);
    return rng.normals(size, (d as Partial<GptNeoConfig>).initializer_range ?? 0.02);
  },

  embeddingParameters: () => ['wte.weight', 'wpe.weight'],
  blockParameters: (d, l) => blockShapes(d, l).map(([name]) => name),
  headParameters: (d) => ['ln_f.weight', 'ln_f.bias', headName(d)],

  /** Token + position embeddings, (B·T, C), then embed_dropout when training. */
  embed: (ctx, tokens, B, T, position) =>
    positionalEmbed(ctx, tokens, B, T, position, ctx.dims.hidden_size, ctx.dims.embed_dropout),

  /** Block l: GPT-2's, with q, k, v = ln_1(x)·Wᵀ (no biases), unscaled scores, and a local layer's window. */
  block(ctx, l, x, B, T, attend) {
    const d = ctx.dims;
    const n = (s: string) => `h.${l}.${s}`;
    const qkv = (a: tf.Tensor2D) => {
      const [k, v, q] = QKV.map((name) =>
        linear(ctx, a, n(`attn.attention.${name}`), { fanInFanOut: false, bias: false }),
      );
      return tf.concat([q, k, v], 1);
    };
    return gpt2StyleBlock(ctx, l, x, B, T, attend, {
      ln1: n('ln_1'),
      ln2: n('ln_2'),
      attnOut: n('attn.attention.out_proj'),
      fc: n('mlp.c_fc'),
      proj: n('mlp.c_proj'),
      linear: true,
      heads: {
        nHead: d.num_heads,
        nKvHead: d.num_heads,
        headDim: d.hidden_size / d.num_heads,
        scaled: false,
        window: gptNeoWindow(d, l),
      },
      eps: d.layer_norm_epsilon,
      residPdrop: d.resid_dropout,
      attnPdrop: d.attention_dropout,
      qkv,
    });
  },

  finalNorm: (ctx, x) =>
    ctx.ops.layerNorm(
      x,
      ctx.p('ln_f.weight') as tf.Tensor1D,
      ctx.p('ln_f.bias') as tf.Tensor1D,
      ctx.dims.layer_norm_epsilon,
    ),

  /** logits = h · wteᵀ (tied, HF's default), or h · lm_headᵀ. */
  logits: (ctx, h) => ctx.ops.matmul(h, ctx.p(headName(ctx.dims)) as tf.Tensor2D, { transposeB: true }),
};
