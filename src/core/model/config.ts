// The dimensions a GPT-2 model is built from, under Hugging Face's GPT2Config key names, the presets the
// page offers, and what a model costs in parameters and memory.

export interface GPTDims {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
  /** width of the MLP's hidden layer; Hugging Face's null means 4·n_embd */
  n_inner?: number | null;
  /**
   * Dropout probabilities, as Hugging Face's GPT2Config names them, applied in training steps only: resid_pdrop on
   * attn.c_proj's and mlp.c_proj's outputs, embd_pdrop on wte + wpe, attn_pdrop on the attention probabilities.
   * Absent means 0.
   */
  resid_pdrop?: number;
  embd_pdrop?: number;
  attn_pdrop?: number;
}

/** HF's GPT2Config default for all three dropouts, which new models take unless told otherwise. */
export const DEFAULT_DROPOUT = 0.1;

export interface Preset {
  id: string;
  label: string;
  dims: Omit<GPTDims, 'vocab_size'> & { vocab_size?: number };
}

/** From a toy that trains in seconds on a CPU emulation up to GPT-2 124M. vocab_size comes from the tokenizer
 * unless the preset fixes it (GPT-2's own sizes use GPT-2's vocabulary). */
export const PRESETS: Preset[] = [
  {
    id: 'toy',
    label: 'Toy (1 layer, 32 wide)',
    dims: { n_positions: 64, n_embd: 32, n_layer: 1, n_head: 2, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'tiny',
    label: 'Tiny (2 layers, 128 wide)',
    dims: { n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'small',
    label: 'Small (4 layers, 256 wide)',
    dims: { n_positions: 256, n_embd: 256, n_layer: 4, n_head: 4, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'mini',
    label: 'Mini (6 layers, 384 wide)',
    dims: { n_positions: 512, n_embd: 384, n_layer: 6, n_head: 6, layer_norm_epsilon: 1e-5 },
  },
  {
    id: 'gpt2',
    label: 'GPT-2 124M (12 layers, 768 wide)',
    dims: { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, layer_norm_epsilon: 1e-5 },
  },
];

export function presetDims(id: string, vocabSize: number): GPTDims {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`unknown model preset '${id}' (known: ${PRESETS.map((x) => x.id).join(', ')})`);
  return { ...p.dims, vocab_size: p.dims.vocab_size ?? vocabSize };
}

export const innerDim = (d: GPTDims): number => d.n_inner ?? 4 * d.n_embd;

export function validateDims(d: GPTDims): void {
  const positive = ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const;
  for (const k of positive) {
    if (!Number.isInteger(d[k]) || d[k] < 1) throw new Error(`${k} must be a positive integer, got ${d[k]}`);
  }
  if (d.n_embd % d.n_head !== 0) throw new Error(`n_embd (${d.n_embd}) must be divisible by n_head (${d.n_head})`);
  if (!(d.layer_norm_epsilon > 0)) throw new Error(`layer_norm_epsilon must be positive, got ${d.layer_norm_epsilon}`);
  for (const k of ['resid_pdrop', 'embd_pdrop', 'attn_pdrop'] as const) {
    const p = d[k];
    if (p !== undefined && !(p >= 0 && p < 1)) throw new Error(`${k} must be in [0, 1), got ${p}`);
  }
}

/** Every parameter by its GPT-2 name and shape, in a fixed order (Conv1D weights are [in, out]). */
export function parameterShapes(d: GPTDims): [string, number[]][] {
  const C = d.n_embd;
  const H = innerDim(d);
  const out: [string, number[]][] = [
    ['wte.weight', [d.vocab_size, C]],
    ['wpe.weight', [d.n_positions, C]],
  ];
  for (let i = 0; i < d.n_layer; i++) {
    const p = `h.${i}.`;
    out.push(
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
    );
  }
  out.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  return out;
}

export function parameterCount(d: GPTDims): number {
  return parameterShapes(d).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** Above this many parameters the trainer's AdamW updates tensor by tensor instead of packed (see trainer.ts). */
export const PACKED_ADAMW_MAX_PARAMETERS = 50_000_000;

export type AdamWKind = 'packed' | 'per-tensor';

/** The update the trainer runs: packed for small models (dispatch-bound) and for fp16 (loss scaling needs it). */
export function adamwKindFor(d: GPTDims, fp16 = false): AdamWKind {
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
  d: GPTDims,
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
