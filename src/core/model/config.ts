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
}

export interface Preset {
  id: string;
  label: string;
  dims: Omit<GPTDims, 'vocab_size'> & { vocab_size?: number };
}

/** From a toy that trains in seconds on a CPU emulation up to GPT-2 124M. vocab_size comes from the tokenizer
 * unless the preset fixes it (GPT-2's own sizes use GPT-2's vocabulary). */
export const PRESETS: Preset[] = [
  { id: 'toy', label: 'Toy (1 layer, 32 wide)', dims: { n_positions: 64, n_embd: 32, n_layer: 1, n_head: 2, layer_norm_epsilon: 1e-5 } },
  { id: 'tiny', label: 'Tiny (2 layers, 128 wide)', dims: { n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 } },
  { id: 'small', label: 'Small (4 layers, 256 wide)', dims: { n_positions: 256, n_embd: 256, n_layer: 4, n_head: 4, layer_norm_epsilon: 1e-5 } },
  { id: 'mini', label: 'Mini (6 layers, 384 wide)', dims: { n_positions: 512, n_embd: 384, n_layer: 6, n_head: 6, layer_norm_epsilon: 1e-5 } },
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

export interface MemoryEstimate {
  parameters: number;
  /** bytes, float32 */
  weights: number;
  gradients: number;
  optimizer: number;
  activations: number;
  total: number;
}

/**
 * Bytes a training step holds at its peak with Hearth's kernels: weights, gradients, AdamW's two moments, and the
 * activations autograd keeps for the backward pass (per layer: LayerNorm outputs and statistics, qkv, attention
 * output and log-sum-exp, the MLP's pre- and post-GELU, residual streams), the logits and their gradient, and the
 * tied embedding's two gradients. tfjs's allocator adds slack on top (buffers are pooled by size), so the measured
 * peak runs higher: `npm run bench -- memory` prints both.
 */
export function estimateTrainingMemory(d: GPTDims, batchSize: number, blockSize: number, opts: { checkpoint?: boolean } = {}): MemoryEstimate {
  const P = parameterCount(d);
  const BT = batchSize * blockSize;
  const C = d.n_embd;
  const H = innerDim(d);
  // floats autograd keeps per layer: ln_1 out + stats, qkv, attention out + log-sum-exp, residual, ln_2 out + stats,
  // MLP pre- and post-GELU, residual
  const perLayer = BT * (C + 2 + 3 * C + C + d.n_head + C + C + 2 + 2 * H + C);
  const layers = opts.checkpoint ? (d.n_layer + 1) * BT * C + perLayer : d.n_layer * perLayer;
  const head = BT * (C + 2) /* ln_f */ + 2 * BT * d.vocab_size /* logits and their gradient */ + 2 * BT;
  // wte is used twice (embedding and tied head): autograd holds both of its gradients and their sum at once
  const tiedGradients = 2 * d.vocab_size * C;
  const activations = 4 * (BT * C /* embeddings */ + layers + head + tiedGradients);
  const weights = 4 * P;
  const gradients = 4 * P;
  const optimizer = 8 * P;
  return { parameters: P, weights, gradients, optimizer, activations, total: weights + gradients + optimizer + activations };
}
