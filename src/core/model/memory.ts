// What a training step costs in GPU memory, term by term, and the AdamW update the trainer runs for a model's size.
import { innerDim, type GPT2Dims } from './families/gpt2_config.ts';
import { headDim, isLlamaModelType, kvHeads, tiedHead, type LlamaDims } from './families/llama_config.ts';
import { isNeoXModelType, neoxTiedHead, type NeoXDims } from './families/gpt_neox_config.ts';
import { gptNeoInnerDim, gptNeoTiedHead, isGptNeoModelType, type GptNeoDims } from './families/gpt_neo_config.ts';
import { parameterCount, parameterShapes, sizesOf, type ModelDims } from './families/index.ts';
import type { BackwardKind } from './backward.ts';

/** Above this many parameters the trainer's AdamW updates tensor by tensor instead of packed (see trainer.ts). */
const PACKED_ADAMW_MAX_PARAMETERS = 50_000_000;

export type AdamWKind = 'packed' | 'per-tensor';

/** The update the trainer runs: packed for small models (dispatch-bound) and for fp16 (loss scaling needs it). */
export function adamwKindFor(d: ModelDims, fp16 = false): AdamWKind {
  return fp16 || parameterCount(d) <= PACKED_ADAMW_MAX_PARAMETERS ? 'packed' : 'per-tensor';
}

export interface MemoryOptions {
  /** gradient checkpointing: only each block's input is kept; the backward recomputes one block at a time */
  checkpoint?: boolean;
  /** mixed precision: f16 copies of the matmul weights for the step, and f16 casts of each matmul's gradient */
  fp16?: boolean;
  /** AdamW's update; by default the trainer's choice (adamwKindFor) */
  optimizer?: AdamWKind;
  /** gradient_accumulation_steps: above 1 the running sum of gradients lives through every later micro-batch */
  accumulation?: number;
  /** the backward (backward.ts): the freeing one by default, as the trainer runs it */
  backward?: BackwardKind;
  /** a LoRA adapter on the frozen model (loraMemoryTerms): only it has gradients and AdamW state */
  lora?: LoraMemoryTerms;
}

/** What a LoRA adapter adds to a step and keeps of it (loraMemoryTerms). */
export interface LoraMemoryTerms {
  /** the adapter's parameters (and modules_to_save's), the only ones trained */
  parameters: number;
  /** floats per row one block's adapted layers add, saved and again as gradients: each (M, r) down product (the
   * fused op adds the adapter's output in the base product's epilogue, so there is no (M, out) term) */
  perRow: number;
  /** the largest trained tensor: what the AdamW update's workspace is sized by */
  largest: number;
  /** frozen weight values held in f16 (2 bytes instead of 4): every linear weight with halfBase, else none */
  halfBase: number;
}

/** Bytes of the GPU buffers alive at a training step's peak, by what holds them. */
export interface MemoryEstimate {
  parameters: number;
  /** float32 weights, and with fp16 their f16 copies */
  weights: number;
  /** float32 gradients of the parameters alive at the peak (with accumulation, the running sum too) */
  gradients: number;
  /** AdamW's two moments, and with the packed update its packed copies of the weights and gradients */
  optimizer: number;
  optimizerKind: AdamWKind;
  /** what the forward pass keeps for the backward (logits included) */
  activations: number;
  /** the backward's own tensors at the peak: gradients of the activations, of the logits, the tied embedding's two */
  workspace: number;
  total: number;
}

/**
 * Floats one block holds, M rows: `saved` by the forward for the backward, `grads` the backward's gradients of its
 * activations, `params` its parameters, `matmulWeights` those its matmuls read and `matmulOutputs` (columns) the
 * widths of their outputs (fp16's copies and casts).
 */
interface BlockTerms {
  saved: number;
  grads: number;
  params: number;
  matmulWeights: number;
  matmulOutputs: number;
  /** a dropout's gradient per (M, hidden) site beyond the block's: GPT-2's embd_pdrop */
  embdDropoutGrad: number;
  /**
   * the most of `grads` alive at once under the freeing backward, which releases each gradient once used (the
   * widest gradients of the block, as its backward makes the next from them); all of `grads` when absent
   */
  freedGrads?: number;
}

/** GPT-2's block, per the terms above estimateTrainingMemory. */
function gpt2Block(d: GPT2Dims, M: number): BlockTerms {
  const { n_embd: C, n_head: nh } = d;
  const H = innerDim(d);
  // Dropout (resid_pdrop twice a block, embd_pdrop once) saves nothing, its mask being hashed from a seed, but its
  // gradient is one more (M, C) tensor the backward keeps.
  const residDropoutGrads = (d.resid_pdrop ?? 0) > 0 ? 2 * M * C : 0;
  return {
    saved: 9 * M * C + 2 * M * H + (nh + 4) * M,
    grads: 9 * M * C + 2 * M * H + residDropoutGrads,
    params: 4 * C * C + 2 * C * H + 9 * C + H,
    matmulWeights: 4 * C * C + 2 * C * H,
    matmulOutputs: 5 * C + H,
    embdDropoutGrad: (d.embd_pdrop ?? 0) > 0 ? M * C : 0,
    // the MLP's: c_fc's output gradient and GELU's input gradient, beside the residual stream's two
    freedGrads: 2 * M * H + 2 * M * C,
  };
}

/**
 * A Llama block on Hearth's kernels (A = heads·head_dim, G = kv heads·head_dim, I = MLP width; grouped-query
 * attention in the attention kernels, nothing repeated): per block the two RMSNorms' outputs and the residual sum
 * 3·M·C, q, k and v as projected M·(A + 2G), q and k after RoPE M·(A + G), the packed qkv M·(A + 2G), the
 * attention's output and log-sum-exp M·(A + nh), o_proj's and down_proj's outputs and the block's output 3·M·C,
 * gate, up and their SwiGLU product 3·M·I, and each norm's row statistics. The backward keeps a gradient of each.
 */
function llamaBlock(d: LlamaDims, M: number): BlockTerms {
  const C = d.hidden_size;
  const nh = d.num_attention_heads;
  const A = nh * headDim(d);
  const G = kvHeads(d) * headDim(d);
  const I = d.intermediate_size;
  const activations = 6 * M * C + 4 * M * A + 5 * M * G + 3 * M * I;
  const params = blockParameterCount(d);
  return {
    saved: activations + nh * M + 2 * M,
    grads: activations,
    params,
    matmulWeights: params - 2 * C,
    matmulOutputs: A + 2 * G + C + 2 * I + C,
    embdDropoutGrad: 0,
    // the MLP's: SwiGLU's output gradient and its gate's and up's, beside the residual stream's two
    freedGrads: 3 * M * I + 2 * M * C,
  };
}

/**
 * A GPT-NeoX block on Hearth's kernels (I = MLP width, nh heads): per block the two LayerNorms' outputs 2·M·C, the
 * fused query_key_value's output, its regrouping to [q | k | v], the q and k slice with v, q and k after RoPE and their
 * concatenation with v 14·M·C, the attention's output and log-sum-exp M·(C + nh), dense's and the MLP's outputs and
 * the residual sums 4·M·C, the MLP's pre- and post-GELU 2·M·I, and the norms' row statistics. The backward keeps a
 * gradient of each.
 */
function neoxBlock(d: NeoXDims, M: number): BlockTerms {
  const C = d.hidden_size;
  const nh = d.num_attention_heads;
  const I = d.intermediate_size;
  const activations = 21 * M * C + 2 * M * I;
  const params = blockParameterCount(d);
  return {
    saved: activations + nh * M + 4 * M,
    grads: activations,
    params,
    matmulWeights: params - 4 * C,
    matmulOutputs: 3 * C + C + I + C,
    embdDropoutGrad: 0,
    // the MLP's: dense_h_to_4h's output gradient and GELU's input gradient, beside the residual stream's two
    freedGrads: 2 * M * I + 2 * M * C,
  };
}

/**
 * GPT-Neo's block: GPT-2's terms, plus q, k and v as their three matmuls give them before they are packed for the
 * attention (3·M·C) and their gradients; no q, k, v biases.
 */
function gptNeoBlock(d: GptNeoDims, M: number): BlockTerms {
  const C = d.hidden_size;
  const g = gpt2Block(
    {
      vocab_size: d.vocab_size,
      n_positions: d.max_position_embeddings,
      n_embd: C,
      n_layer: d.num_layers,
      n_head: d.num_heads,
      n_inner: gptNeoInnerDim(d),
      layer_norm_epsilon: d.layer_norm_epsilon,
      resid_pdrop: d.resid_dropout,
      embd_pdrop: d.embed_dropout,
    },
    M,
  );
  return { ...g, saved: g.saved + 3 * M * C, grads: g.grads + 3 * M * C, params: blockParameterCount(d) };
}

/** The block's terms of the model's family. */
function blockTerms(d: ModelDims, M: number): BlockTerms {
  if (isLlamaModelType(d.model_type)) return llamaBlock(d as LlamaDims, M);
  if (isNeoXModelType(d.model_type)) return neoxBlock(d as NeoXDims, M);
  if (isGptNeoModelType(d.model_type)) return gptNeoBlock(d as GptNeoDims, M);
  return gpt2Block(d as GPT2Dims, M);
}

/** Whether the head reads the token embedding (GPT-2, tied Llama, GPT-NeoX and GPT-Neo). */
function headTied(d: ModelDims): boolean {
  if (isLlamaModelType(d.model_type)) return tiedHead(d as LlamaDims);
  if (isNeoXModelType(d.model_type)) return neoxTiedHead(d as NeoXDims);
  if (isGptNeoModelType(d.model_type)) return gptNeoTiedHead(d as GptNeoDims);
  return true;
}

function blockParameterCount(d: ModelDims): number {
  const first = parameterShapes(d).filter(([n]) => /^(h|layers)\.0\./.test(n));
  return first.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

/**
 * The bytes a training step holds at its peak with Hearth's kernels under tfjs autograd, term by term (M = B·T
 * rows, C = hidden size, H = MLP width, V = vocab_size, L = layers, nh = heads; floats are 4 bytes), for GPT-2:
 * - weights P, AdamW's moments 2P, and with the packed update its packed parameters and gradients 2P;
 * - the forward's saved tensors, per block 9·M·C + 2·M·H + (nh + 4)·M (ln_1's output, qkv, the attention's
 *   output, the residual, ln_2's output, the MLP's pre- and post-GELU and output, the block's output, row
 *   statistics and log-sum-exp), plus the embedding's output and the head's ln_f and (M, V) logits;
 * - the backward's tensors. The freeing backward (the trainer's) releases each gradient and saved tensor once
 *   used, so its peak is the largest of: its start, every saved tensor beside the (M, V) logits' gradient; a
 *   block's backward, the saved tensors not yet released, the block's widest gradients (freedGrads: GPT-2's
 *   2·M·H + 2·M·C) and the parameters' gradients so far, at the last block or the first; its end, the parameters'
 *   gradients P and wte's two gradients (head and embedding) beside their sum. tfjs's own backward keeps every
 *   intermediate gradient until the whole backward ends, so at its end (its peak) per block 9·M·C + 2·M·H more,
 *   the logits' gradient, P, and wte's two;
 * - with dropout, one more (M, C) gradient per dropout (its mask is hashed from a seed, so nothing is saved);
 * - with checkpointing, the largest of: the head's backward, the last block's backward (its forward recomputed),
 *   with the freeing backward the first block's too, and the embedding's, over the kept block inputs;
 * - or the AdamW update's, when larger (per-tensor, three new copies of wte beside everything persistent).
 * A Llama-family block's terms are llamaBlock's, a GPT-NeoX block's neoxBlock's, GPT-Neo's gptNeoBlock's; an untied
 * head has no second embedding gradient.
 * This counts buffers, as the GPU holds them; tf.profile's peakBytes counts tensors, so it counts a buffer shared
 * by a reshape or by tfjs's saved clone twice and runs higher. `npm run bench -- memory` prints both.
 */
export function estimateTrainingMemory(
  d: ModelDims,
  batchSize: number,
  blockSize: number,
  opts: MemoryOptions = {},
): MemoryEstimate {
  const P = parameterCount(d);
  const M = batchSize * blockSize;
  const s = sizesOf(d);
  const { hidden_size: C, num_hidden_layers: L, vocab_size: V } = s;
  const block = blockTerms(d, M);
  // the head reads the token embedding: its two gradients (head and embedding) beside their sum
  const tied = headTied(d);
  const fp16 = !!opts.fp16;
  const optimizerKind = opts.optimizer ?? adamwKindFor(d, fp16);
  const f32 = 4;
  // f16 copies of every matmul weight (the head and each block's), kept for the step
  // (with LoRA's halfBase the frozen linear weights are f16 already: no copy)
  const halfWeights = fp16 ? 2 * (V * C + L * block.matmulWeights - (opts.lora?.halfBase ?? 0)) : 0;
  // with fp16, each matmul's backward keeps an f16 cast of its output gradient until the backward ends
  const halfGradsPerBlock = fp16 ? 2 * M * block.matmulOutputs : 0;
  const halfGradsHead = fp16 ? 2 * M * V : 0;

  const embdDropoutGrad = f32 * block.embdDropoutGrad;
  const savedPerBlock = f32 * block.saved;
  const gradsPerBlock = f32 * block.grads + halfGradsPerBlock;
  // the final norm's output and statistics, the logits, their log-sum-exp
  const savedHead = f32 * (M * C + 3 * M + M * V);
  const gradsHead = f32 * (M * V + 2 * M * C) + halfGradsHead; // dlogits, d(final norm output), d(last block output)
  const tiedExtra = tied ? f32 * 2 * V * C : 0;
  // With LoRA only the adapter has gradients and moments; the frozen embedding none (no tied pair either).
  const lora = opts.lora;
  const trained = lora ? lora.parameters : P;
  const loraRows = lora ? f32 * L * M * lora.perRow : 0;
  const accumulated = (opts.accumulation ?? 1) > 1 ? f32 * trained : 0;
  const largestParameter = Math.max(...parameterShapes(d).map(([, s]) => s.reduce((a, b) => a * b, 1)));

  type Phase = { activations: number; workspace: number; gradients: number };
  const phases: Phase[] = [
    // the update, once the activations are gone: the per-tensor kernels make a parameter's new value and moments
    // before they replace the old; the packed update copies each new value out of its packed buffer
    {
      activations: 0,
      workspace: f32 * (optimizerKind === 'packed' ? 1 : 3) * (lora ? lora.largest : largestParameter),
      gradients: f32 * trained,
    },
  ];
  // the head's and a block's parameters' gradients (with LoRA, none for the frozen head; a block's adapter's)
  const headGrads = lora ? 0 : f32 * (V * C + 2 * C);
  const blockParams = f32 * (lora ? lora.parameters / L : block.params);
  const loraBlock = loraRows / L;
  const savedAll = L * savedPerBlock + f32 * M * C + savedHead + loraRows;
  const freeing = (opts.backward ?? 'freeing') === 'freeing';
  // the freeing backward: a block's widest gradients at once (f16 casts live inside one matmul's gradient)
  const freedPerBlock = f32 * (block.freedGrads ?? block.grads) + loraBlock;
  // its head: the logits' gradient (and its f16 cast) beside every saved tensor, the logits' included
  const freeingHead = f32 * M * V + halfGradsHead;
  // the end of either backward: wte's two gradients (head and embedding) beside their sum, and dx
  const embeddingEnd = {
    workspace: f32 * M * C + (lora ? 0 : tiedExtra) + embdDropoutGrad,
    gradients: f32 * trained + accumulated,
  };
  if (!opts.checkpoint && !freeing) {
    // the end of the backward
    phases.push({
      activations: savedAll,
      workspace: L * gradsPerBlock + gradsHead + (lora ? 0 : tiedExtra) + embdDropoutGrad + loraRows,
      gradients: f32 * trained + accumulated,
    });
  } else if (!opts.checkpoint) {
    // The head's backward, the last block's and the first's (the saved activations fall block by block while the
    // parameters' gradients grow, so the largest of the blocks' is one of those two), and the embedding's.
    phases.push(
      { activations: savedAll, workspace: freeingHead, gradients: accumulated },
      {
        activations: savedAll - f32 * M * V,
        workspace: freedPerBlock,
        gradients: headGrads + blockParams + accumulated,
      },
      {
        activations: savedPerBlock + f32 * M * C + savedHead - f32 * M * V,
        workspace: freedPerBlock,
        gradients: headGrads + L * blockParams + accumulated,
      },
      { activations: 0, ...embeddingEnd },
    );
  } else {
    const kept = f32 * (L + 1) * M * C;
    // a block's recomputed forward, with c_proj's output and the block's, unsaved
    const recomputed = savedPerBlock + f32 * 2 * M * C + loraBlock;
    if (freeing) {
      phases.push(
        { activations: kept + savedHead, workspace: freeingHead, gradients: accumulated },
        // the last block's backward and the first's (the kept inputs go as the blocks are done)
        { activations: kept + recomputed, workspace: freedPerBlock, gradients: headGrads + blockParams + accumulated },
        {
          activations: f32 * 2 * M * C + recomputed,
          workspace: freedPerBlock,
          gradients: headGrads + L * blockParams + accumulated,
        },
      );
    } else {
      phases.push(
        // the head's backward: its saved tensors and gradients
        { activations: kept + savedHead, workspace: gradsHead, gradients: headGrads + accumulated },
        // the last block's backward: its recomputed forward, dx
        {
          activations: kept + recomputed,
          workspace: gradsPerBlock + f32 * M * C + loraBlock,
          gradients: headGrads + blockParams + accumulated,
        },
      );
    }
    // the embedding's backward: every parameter's gradient and wte's two
    phases.push({ activations: f32 * M * C, ...embeddingEnd });
  }
  const sum = (p: Phase) => p.activations + p.workspace + p.gradients;
  const { activations, workspace, gradients } = phases.reduce((a, b) => (sum(b) > sum(a) ? b : a));
  // with LoRA's halfBase, the frozen linear weights in f16 (packed two per word)
  const halfBase = lora?.halfBase ?? 0;
  const weights = f32 * (P - halfBase + (lora?.parameters ?? 0)) + 2 * halfBase + halfWeights;
  const optimizer = f32 * (optimizerKind === 'packed' ? 4 : 2) * trained;
  return {
    parameters: P,
    weights,
    gradients,
    optimizer,
    optimizerKind,
    activations,
    workspace,
    total: weights + gradients + optimizer + activations + workspace,
  };
}
