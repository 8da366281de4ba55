// GPT-2's configuration under Hugging Face's key names, so config.json is read and written as it is
// and the model uses the same record. Validation refuses, with a reason, what Hearth cannot run.
import { CheckpointError, invalid, unsupported } from './errors.ts';

export type Gpt2Activation = 'gelu_new';

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
  activation_function: Gpt2Activation;
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

/** Architectures whose weights are the plain GPT-2 stack with the head tied to wte. */
const RUNNABLE_ARCHITECTURES = new Set(['GPT2LMHeadModel', 'GPT2Model']);
// gelu_new (the tanh approximation) is what the GPT-2 family uses; the exact erf GELU is not implemented.
const ACTIVATIONS = new Set<string>(['gelu_new']);

/** Shapes of the released GPT-2 family (vocab 50257, 1024 positions). */
export const GPT2_SIZES = {
  distilgpt2: { n_layer: 6, n_head: 12, n_embd: 768 },
  gpt2: { n_layer: 12, n_head: 12, n_embd: 768 },
  'gpt2-medium': { n_layer: 24, n_head: 16, n_embd: 1024 },
  'gpt2-large': { n_layer: 36, n_head: 20, n_embd: 1280 },
  'gpt2-xl': { n_layer: 48, n_head: 25, n_embd: 1600 },
} as const;

/** Hugging Face's GPT2Config defaults, then the overrides, validated. */
export function makeGpt2Config(overrides: Partial<GPT2Config> = {}): GPT2Config {
  const vocab = overrides.vocab_size ?? 50257;
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
    resid_pdrop: 0.1,
    embd_pdrop: 0.1,
    attn_pdrop: 0.1,
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

/** MLP hidden width. */
export { innerDim } from '../model/config.ts';

/** Reads config.json (text or parsed), fills HF's defaults for missing keys, and validates. */
export function parseGpt2Config(source: string | unknown): GPT2Config {
  let raw: unknown = source;
  if (typeof source === 'string') {
    try {
      raw = JSON.parse(source);
    } catch (e) {
      throw invalid(`config.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid('config.json must hold a JSON object');
  }
  const r = raw as Record<string, unknown>;

  if (r.model_type !== undefined && r.model_type !== 'gpt2') {
    throw unsupported(
      `config.json says model_type "${String(r.model_type)}"; Hearth runs only GPT-2 models (model_type "gpt2")`,
    );
  }
  const architectures = r.architectures ?? ['GPT2LMHeadModel'];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string')) {
    throw invalid('config.json: "architectures" must be a list of names');
  }
  const foreign = architectures.filter((a) => !RUNNABLE_ARCHITECTURES.has(a));
  if (foreign.length > 0) {
    throw unsupported(
      `config.json names architecture ${foreign.join(', ')}; Hearth runs GPT2LMHeadModel (a plain GPT-2 language model)`,
    );
  }

  const overrides: Record<string, unknown> = { architectures: ['GPT2LMHeadModel'] };
  const copy = (key: keyof GPT2Config) => {
    if (r[key] !== undefined && r[key] !== null) overrides[key] = r[key];
  };
  for (const key of [
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
  ] as const)
    copy(key);
  if (overrides.n_positions === undefined && typeof r.n_ctx === 'number') overrides.n_positions = r.n_ctx;
  if (r.n_inner !== undefined) overrides.n_inner = r.n_inner;
  if (r.pad_token_id !== undefined) overrides.pad_token_id = r.pad_token_id;
  if (r.add_cross_attention === true) {
    throw unsupported('config.json sets add_cross_attention; Hearth runs decoder-only GPT-2 without cross-attention');
  }
  return makeGpt2Config(overrides as Partial<GPT2Config>);
}

/** Throws a CheckpointError naming the first thing Hearth cannot run. */
export function validateGpt2Config(c: GPT2Config): void {
  const bad = (m: string) => new CheckpointError('invalid-file', `config: ${m}`);
  const positiveInt = (key: keyof GPT2Config, value: unknown) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw bad(`${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  };
  for (const key of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) positiveInt(key, c[key]);
  if (c.n_inner !== null) positiveInt('n_inner', c.n_inner);
  if (c.model_type !== 'gpt2') throw unsupported(`model_type "${String(c.model_type)}" is not "gpt2"`);
  if (c.n_embd % c.n_head !== 0) {
    throw unsupported(
      `n_embd (${c.n_embd}) must be divisible by n_head (${c.n_head}): each head gets n_embd / n_head channels`,
    );
  }
  if (!ACTIVATIONS.has(c.activation_function)) {
    throw unsupported(
      `activation_function "${String(c.activation_function)}" is not supported; Hearth runs GPT-2's gelu_new`,
    );
  }
  if (c.scale_attn_weights !== true)
    throw unsupported('scale_attn_weights false is not supported; Hearth scales attention by 1/sqrt(head size)');
  if (c.scale_attn_by_inverse_layer_idx !== false)
    throw unsupported('scale_attn_by_inverse_layer_idx is not supported');
  if (c.reorder_and_upcast_attn !== false) throw unsupported('reorder_and_upcast_attn is not supported');
  if (c.tie_word_embeddings !== true)
    throw unsupported('tie_word_embeddings false is not supported; Hearth ties lm_head to wte');
  for (const key of ['resid_pdrop', 'embd_pdrop', 'attn_pdrop'] as const) {
    const p = c[key];
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw bad(`${key} must be in [0, 1), got ${JSON.stringify(p)}`);
  }
  for (const key of ['layer_norm_epsilon', 'initializer_range'] as const) {
    const v = c[key];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      throw bad(`${key} must be a positive number, got ${JSON.stringify(v)}`);
  }
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

/** config.json text as Hugging Face writes it (n_ctx kept for older readers). */
export function gpt2ConfigToJson(c: GPT2Config): string {
  const { n_positions, ...rest } = c;
  const out: Record<string, unknown> = { ...rest, n_ctx: n_positions, n_positions };
  if (out.pad_token_id === undefined) delete out.pad_token_id;
  out.torch_dtype ??= 'float32';
  return JSON.stringify(sortKeys(out), null, 2) + '\n';
}

/** generation_config.json contents: an open record, since Hearth only reads a few keys. */
export type GenerationConfig = Record<string, unknown>;

export function defaultGenerationConfig(c: GPT2Config): GenerationConfig {
  return { _from_model_config: true, bos_token_id: c.bos_token_id, eos_token_id: c.eos_token_id };
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
