// GPT-2's configuration under Hugging Face's GPT2Config key names, so config.json is read and written as it is and
// the model uses the same record; the checks that refuse, with a reason, what Hearth cannot run.
import { checkPositiveInteger, ModelConfigError } from '../config_error.ts';

export interface GPT2Config {
  model_type: 'gpt2';
  architectures: string[];
  vocab_size: number;
  /** Longest sequence (rows of wpe). Old configs call it n_ctx; both are written. */
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP width; null means 4 * n_embd. */
  n_inner: number | null;
  /** gelu_new is the tanh approximation GPT-2 was trained with; gelu is the exact erf form. */
  activation_function: 'gelu_new';
  /**
   * Dropout probabilities, applied in training steps only: resid_pdrop on attn.c_proj's and mlp.c_proj's outputs,
   * embd_pdrop on wte + wpe, attn_pdrop on the attention probabilities.
   */
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id?: number | null;
  /** Fixed by what Hearth runs: the scaled, tied, plain GPT-2 block. Kept so config.json says so. */
  scale_attn_weights: true;
  scale_attn_by_inverse_layer_idx: false;
  reorder_and_upcast_attn: false;
  tie_word_embeddings: true;
  use_cache: boolean;
  torch_dtype?: string;
  transformers_version?: string;
  task_specific_params?: Record<string, unknown>;
}

/**
 * What building and running a GPT-2 needs of its config: a whole GPT2Config is one, and presets and tests give no
 * more than this. Absent dropout rates mean no dropout; an absent n_inner means 4·n_embd.
 */
export type GPT2Dims = Pick<GPT2Config, 'vocab_size' | 'n_positions' | 'n_embd' | 'n_layer' | 'n_head'> &
  Pick<GPT2Config, 'layer_norm_epsilon'> &
  Partial<Pick<GPT2Config, 'model_type' | 'n_inner' | 'resid_pdrop' | 'embd_pdrop' | 'attn_pdrop'>>;

/** GPT-2's vocabulary: the rows of its wte and the ids of its tokenizer (HF's GPT2Config default). */
export const GPT2_VOCAB_SIZE = 50257;

/** HF's GPT2Config default for all three dropouts, which new models take unless told otherwise. */
export const DEFAULT_DROPOUT = 0.1;

/** Architectures whose weights are the plain GPT-2 stack with the head tied to wte. */
const RUNNABLE_ARCHITECTURES = new Set(['GPT2LMHeadModel', 'GPT2Model']);
// gelu_new (the tanh approximation) is what the GPT-2 family uses; the exact erf GELU is not implemented.
const ACTIVATIONS = new Set<string>(['gelu_new']);

export const innerDim = (d: GPT2Dims): number => d.n_inner ?? 4 * d.n_embd;

/** Hugging Face's GPT2Config defaults, then the overrides, validated. */
export function makeGpt2Config(overrides: Partial<GPT2Config> = {}): GPT2Config {
  const vocab = overrides.vocab_size ?? GPT2_VOCAB_SIZE;
  // HF's default special id is 50256; a smaller vocabulary needs one that exists.
  const special = Math.min(50256, vocab - 1);
  const config: GPT2Config = {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: vocab,
    n_positions: 1024,
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    n_inner: null,
    activation_function: 'gelu_new',
    resid_pdrop: DEFAULT_DROPOUT,
    embd_pdrop: DEFAULT_DROPOUT,
    attn_pdrop: DEFAULT_DROPOUT,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    bos_token_id: special,
    eos_token_id: special,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    use_cache: true,
    ...overrides,
  };
  validateGpt2Config(config);
  return config;
}

const CONFIG_KEYS = [
  'vocab_size',
  'n_positions',
  'n_embd',
  'n_layer',
  'n_head',
  'activation_function',
  'resid_pdrop',
  'embd_pdrop',
  'attn_pdrop',
  'layer_norm_epsilon',
  'initializer_range',
  'bos_token_id',
  'eos_token_id',
  'use_cache',
  'torch_dtype',
  'transformers_version',
  'task_specific_params',
  'scale_attn_weights',
  'scale_attn_by_inverse_layer_idx',
  'reorder_and_upcast_attn',
  'tie_word_embeddings',
] as const;

/** A parsed config.json object whose model_type is gpt2 (or absent): HF's defaults for missing keys, validated. */
export function gpt2ConfigFromJson(r: Record<string, unknown>): GPT2Config {
  const architectures = r.architectures ?? ['GPT2LMHeadModel'];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string')) {
    throw ModelConfigError.invalid('config.json: "architectures" must be a list of names');
  }
  const foreign = architectures.filter((a) => !RUNNABLE_ARCHITECTURES.has(a));
  if (foreign.length > 0) {
    throw ModelConfigError.unsupported(
      `config.json names architecture ${foreign.join(', ')}; Hearth runs GPT2LMHeadModel (a plain GPT-2 language model)`,
    );
  }
  const overrides: Record<string, unknown> = { architectures: ['GPT2LMHeadModel'] };
  for (const key of CONFIG_KEYS) if (r[key] !== undefined && r[key] !== null) overrides[key] = r[key];
  if (overrides.n_positions === undefined && typeof r.n_ctx === 'number') overrides.n_positions = r.n_ctx;
  if (r.n_inner !== undefined) overrides.n_inner = r.n_inner;
  if (r.pad_token_id !== undefined) overrides.pad_token_id = r.pad_token_id;
  if (r.add_cross_attention === true) {
    throw ModelConfigError.unsupported(
      'config.json sets add_cross_attention; Hearth runs decoder-only GPT-2 without cross-attention',
    );
  }
  return makeGpt2Config(overrides as Partial<GPT2Config>);
}

/** config.json's object as Hugging Face writes it (n_ctx kept for older readers). */
export function gpt2ConfigToJson(c: GPT2Config): Record<string, unknown> {
  const { n_positions, ...rest } = c;
  const out: Record<string, unknown> = { ...rest, n_ctx: n_positions, n_positions };
  if (out.pad_token_id === undefined) delete out.pad_token_id;
  out.torch_dtype ??= 'float32';
  return out;
}

const bad = (m: string) => ModelConfigError.invalid(`config: ${m}`);

/** The checks on what a model is built from: sizes, epsilon and (where given) n_inner and the dropout rates. */
export function validateGpt2Dims(d: GPT2Dims): void {
  for (const key of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const)
    checkPositiveInteger(key, d[key]);
  if (d.n_inner !== undefined && d.n_inner !== null) checkPositiveInteger('n_inner', d.n_inner);
  if (d.n_embd % d.n_head !== 0) {
    throw ModelConfigError.unsupported(
      `n_embd (${d.n_embd}) must be divisible by n_head (${d.n_head}): each head gets n_embd / n_head channels`,
    );
  }
  const eps = d.layer_norm_epsilon;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps))
    throw bad(`layer_norm_epsilon must be a positive number, got ${JSON.stringify(eps)}`);
  for (const key of ['resid_pdrop', 'embd_pdrop', 'attn_pdrop'] as const) {
    const p = d[key];
    if (p !== undefined && (typeof p !== 'number' || !(p >= 0 && p < 1)))
      throw bad(`${key} must be in [0, 1), got ${JSON.stringify(p)}`);
  }
}

/** Throws a ModelConfigError naming the first thing Hearth cannot run. */
export function validateGpt2Config(c: GPT2Config): void {
  if (c.model_type !== 'gpt2') throw ModelConfigError.unsupported(`model_type "${String(c.model_type)}" is not "gpt2"`);
  validateGpt2Dims(c);
  if (!ACTIVATIONS.has(c.activation_function)) {
    throw ModelConfigError.unsupported(
      `activation_function "${String(c.activation_function)}" is not supported; Hearth runs GPT-2's gelu_new`,
    );
  }
  const unsupported = (m: string) => ModelConfigError.unsupported(m);
  if (c.scale_attn_weights !== true)
    throw unsupported('scale_attn_weights false is not supported; Hearth scales attention by 1/sqrt(head size)');
  if (c.scale_attn_by_inverse_layer_idx !== false)
    throw unsupported('scale_attn_by_inverse_layer_idx is not supported');
  if (c.reorder_and_upcast_attn !== false) throw unsupported('reorder_and_upcast_attn is not supported');
  if (c.tie_word_embeddings !== true)
    throw unsupported('tie_word_embeddings false is not supported; Hearth ties lm_head to wte');
  for (const key of ['resid_pdrop', 'embd_pdrop', 'attn_pdrop'] as const) {
    if (typeof c[key] !== 'number') throw bad(`${key} must be in [0, 1), got ${JSON.stringify(c[key])}`);
  }
  const range = c.initializer_range;
  if (typeof range !== 'number' || !(range > 0) || !Number.isFinite(range))
    throw bad(`initializer_range must be a positive number, got ${JSON.stringify(range)}`);
  for (const key of ['bos_token_id', 'eos_token_id'] as const) {
    const id = c[key];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= c.vocab_size) {
      throw bad(`${key} must be a token id below vocab_size ${c.vocab_size}, got ${JSON.stringify(id)}`);
    }
  }
  if (!Array.isArray(c.architectures) || c.architectures.some((a) => !RUNNABLE_ARCHITECTURES.has(a))) {
    throw unsupported(`architectures ${JSON.stringify(c.architectures)}: Hearth runs GPT2LMHeadModel`);
  }
}
