// What a training step costs in GPU memory, term by term, and the AdamW update the trainer runs for a model's size.
import { innerDim } from './families/gpt2_config.ts';
import { parameterCount, parameterShapes, type ModelDims } from './families/index.ts';

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
 * The bytes a training step holds at its peak with Hearth's kernels under tfjs autograd, term by term (M = B·T
 * rows, C = n_embd, H = MLP width, V = vocab_size, L = n_layer, nh = n_head; floats are 4 bytes):
 * - weights P, AdamW's moments 2P, and with the packed update its packed parameters and gradients 2P;
 * - the forward's saved tensors, per block 9·M·C + 2·M·H + (nh + 4)·M (ln_1's output, qkv, the attention's
 *   output, the residual, ln_2's output, the MLP's pre- and post-GELU and output, the block's output, row
 *   statistics and log-sum-exp), plus the embedding's output and the head's ln_f and (M, V) logits;
 * - the backward's tensors: tfjs keeps every intermediate gradient until the whole backward ends, so at its end
 *   (the peak) per block 9·M·C + 2·M·H more, the (M, V) logits' gradient, the parameters' gradients P, and wte's
 *   two gradients (head and embedding) beside their sum;
 * - with dropout, one more (M, C) gradient per dropout (its mask is hashed from a seed, so nothing is saved);
 * - with checkpointing, the largest of: the head's backward, the last block's backward (its forward recomputed) and
 *   the embedding's, over n_layer + 1 kept block inputs;
 * - or the AdamW update's, when larger (per-tensor, three new copies of wte beside everything persistent).
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
  const { n_embd: C, n_layer: L, n_head: nh, vocab_size: V } = d;
  const H = innerDim(d);
  const fp16 = !!opts.fp16;
  const optimizerKind = opts.optimizer ?? adamwKindFor(d, fp16);
  const f32 = 4;
  // f16 copies of every matmul weight (wte as the head, c_attn, attn.c_proj, c_fc, mlp.c_proj), kept for the step
  const halfWeights = fp16 ? 2 * (V * C + L * (4 * C * C + 2 * C * H)) : 0;
  // with fp16, each matmul's backward keeps an f16 cast of its output gradient until the backward ends
  const halfGradsPerBlock = fp16 ? 2 * M * (5 * C + H) : 0;
  const halfGradsHead = fp16 ? 2 * M * V : 0;

  // Dropout (resid_pdrop twice a block, embd_pdrop once) saves nothing, its mask being hashed from a seed, but its
  // gradient is one more (M, C) tensor the backward keeps.
  const residDropoutGrads = (d.resid_pdrop ?? 0) > 0 ? 2 * M * C : 0;
  const embdDropoutGrad = (d.embd_pdrop ?? 0) > 0 ? f32 * M * C : 0;
  const savedPerBlock = f32 * (9 * M * C + 2 * M * H + (nh + 4) * M);
  const gradsPerBlock = f32 * (9 * M * C + 2 * M * H + residDropoutGrads) + halfGradsPerBlock;
  const savedHead = f32 * (M * C + 3 * M + M * V); // ln_f's output and statistics, the logits, their log-sum-exp
  const gradsHead = f32 * (M * V + 2 * M * C) + halfGradsHead; // dlogits, d(ln_f output), d(last block output)
  const tiedExtra = f32 * 2 * V * C;
  const accumulated = (opts.accumulation ?? 1) > 1 ? f32 * P : 0;
  const largestParameter = Math.max(...parameterShapes(d).map(([, s]) => s.reduce((a, b) => a * b, 1)));

  type Phase = { activations: number; workspace: number; gradients: number };
  const phases: Phase[] = [
    // the update, once the activations are gone: the per-tensor kernels make a parameter's new value and moments
    // before they replace the old; the packed update copies each new value out of its packed buffer
    { activations: 0, workspace: f32 * (optimizerKind === 'packed' ? 1 : 3) * largestParameter, gradients: f32 * P },
  ];
  if (!opts.checkpoint) {
    // the end of the backward
    phases.push({
      activations: L * savedPerBlock + f32 * M * C + savedHead,
      workspace: L * gradsPerBlock + gradsHead + tiedExtra + embdDropoutGrad,
      gradients: f32 * P + accumulated,
    });
  } else {
    const kept = f32 * (L + 1) * M * C;
    const blockParams = 4 * C * C + 2 * C * H + 9 * C + H;
    const headGrads = f32 * (V * C + 2 * C);
    phases.push(
      // the head's backward: its saved tensors and gradients
      { activations: kept + savedHead, workspace: gradsHead, gradients: headGrads + accumulated },
      // the last block's backward: its recomputed forward (with c_proj's output and the block's, unsaved), dx
      {
        activations: kept + savedPerBlock + f32 * 2 * M * C,
        workspace: gradsPerBlock + f32 * M * C,
        gradients: headGrads + f32 * blockParams + accumulated,
      },
      // the embedding's backward: every parameter's gradient and wte's two
      {
        activations: f32 * M * C,
        workspace: f32 * M * C + tiedExtra + embdDropoutGrad,
        gradients: f32 * P + accumulated,
      },
    );
  }
  const sum = (p: Phase) => p.activations + p.workspace + p.gradients;
  const { activations, workspace, gradients } = phases.reduce((a, b) => (sum(b) > sum(a) ? b : a));
  const weights = f32 * P + halfWeights;
  const optimizer = f32 * (optimizerKind === 'packed' ? 4 : 2) * P;
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
