// The GPT-NeoX family's configuration (GPTNeoXConfig: EleutherAI's Pythia models) under Hugging Face's key names, so
// config.json is read and written as it is; and the checks that refuse, with a reason, what Hearth cannot run.
// Partial rotary is rotary_pct (newer files also write it as partial_rotary_factor), the rotary base rotary_emb_base
// (also rope_theta); either spelling is read, and both are written, as transformers writes them.
import { checkPositiveInteger, checkPositiveNumber, checkBoolean, ModelConfigError } from '../config_error.ts';

export type NeoXActivation = 'gelu' | 'gelu_new' | 'gelu_fast';
/** "gelu": the exact erf GELU; "gelu_new" and "gelu_fast": the tanh approximation (two spellings of one formula) */
const ACTIVATIONS: readonly NeoXActivation[] = ['gelu', 'gelu_new', 'gelu_fast'];
const ARCHITECTURE = 'GPTNeoXForCausalLM';

export interface NeoXConfig {
  model_type: 'gpt_neox';
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  /** the MLP's width (dense_h_to_4h's outputs) */
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: NeoXActivation;
  /** the share of each head's dims that RoPE rotates: the first ⌊head_dim · rotary_pct⌋ */
  rotary_pct: number;
  rotary_emb_base: number;
  rope_scaling: null;
  layer_norm_eps: number;
  /** x + attn(ln1(x)) + mlp(ln2(x)) when true; x' = x + attn(ln1(x)), then x' + mlp(ln2(x')) when false */
  use_parallel_residual: boolean;
  /** biases on query_key_value and dense */
  attention_bias: boolean;
  attention_dropout: number;
  hidden_dropout: number;
  initializer_range: number;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  pad_token_id?: number | null;
  use_cache: boolean;
  torch_dtype?: string;
  transformers_version?: string;
}

/** What building and running a GPT-NeoX model needs: presets and tests give no more than this. */
export type NeoXDims = Pick<
  NeoXConfig,
  | 'model_type'
  | 'vocab_size'
  | 'hidden_size'
  | 'intermediate_size'
  | 'num_hidden_layers'
  | 'num_attention_heads'
  | 'max_position_embeddings'
  | 'layer_norm_eps'
> &
  Partial<
    Pick<
      NeoXConfig,
      | 'rotary_pct'
      | 'rotary_emb_base'
      | 'use_parallel_residual'
      | 'attention_bias'
      | 'tie_word_embeddings'
      | 'hidden_act'
      | 'initializer_range'
    >
  >;

export const isNeoXModelType = (t: unknown): t is 'gpt_neox' => t === 'gpt_neox';

export const neoxHeadDim = (d: NeoXDims): number => d.hidden_size / d.num_attention_heads;
/** HF's rotary_ndims: int(head_size · rotary_pct) */
export const rotaryDims = (d: NeoXDims): number => Math.floor(neoxHeadDim(d) * (d.rotary_pct ?? 0.25));
export const rotaryBase = (d: NeoXDims): number => d.rotary_emb_base ?? 10000;
export const parallelResidual = (d: NeoXDims): boolean => d.use_parallel_residual ?? true;
export const attentionBias = (d: NeoXDims): boolean => d.attention_bias ?? true;
export const neoxTiedHead = (d: NeoXDims): boolean => d.tie_word_embeddings ?? false;
/** the MLP's activation as the matmul epilogue runs it */
export const neoxActivation = (d: NeoXDims): 'gelu' | 'gelu_exact' =>
  (d.hidden_act ?? 'gelu') === 'gelu' ? 'gelu_exact' : 'gelu';

/** GPTNeoXConfig's __init__ defaults (gpt-neox-20b's shape). */
function defaults(): NeoXConfig {
  return {
    model_type: 'gpt_neox',
    architectures: [ARCHITECTURE],
    vocab_size: 50432,
    hidden_size: 6144,
    intermediate_size: 24576,
    num_hidden_layers: 44,
    num_attention_heads: 64,
    max_position_embeddings: 2048,
    hidden_act: 'gelu',
    rotary_pct: 0.25,
    rotary_emb_base: 10000,
    rope_scaling: null,
    layer_norm_eps: 1e-5,
    use_parallel_residual: true,
    attention_bias: true,
    attention_dropout: 0,
    hidden_dropout: 0,
    initializer_range: 0.02,
    tie_word_embeddings: false,
    bos_token_id: 0,
    eos_token_id: 2,
    use_cache: true,
  };
}

const bad = (m: string) => ModelConfigError.invalid(`config: ${m}`);
const unsupported = (m: string) => ModelConfigError.unsupported(m);

/** HF's defaults, then the overrides; validated. */
export function makeNeoXConfig(overrides: Partial<NeoXConfig> = {}): NeoXConfig {
  const c: NeoXConfig = { ...defaults(), ...overrides, model_type: 'gpt_neox' };
  validateNeoXConfig(c);
  return c;
}

/** The keys read from config.json beyond the model_type; others (HF's generic ones) are dropped. */
const CONFIG_KEYS = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'max_position_embeddings',
  'hidden_act',
  'rotary_pct',
  'rotary_emb_base',
  'rope_scaling',
  'layer_norm_eps',
  'use_parallel_residual',
  'attention_bias',
  'attention_dropout',
  'hidden_dropout',
  'initializer_range',
  'tie_word_embeddings',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'use_cache',
  'torch_dtype',
  'transformers_version',
] as const;

/** One value under two spellings (rotary_pct and partial_rotary_factor): either, or both when they agree. */
function eitherKey(r: Record<string, unknown>, key: string, alias: string): unknown {
  const [a, b] = [r[key] ?? undefined, r[alias] ?? undefined];
  if (a !== undefined && b !== undefined && a !== b)
    throw bad(`${key} (${JSON.stringify(a)}) and ${alias} (${JSON.stringify(b)}) disagree`);
  return a ?? b;
}

/** A parsed config.json object of model_type gpt_neox: HF's defaults for missing keys, validated. */
export function neoxConfigFromJson(r: Record<string, unknown>): NeoXConfig {
  const architectures = r.architectures ?? [ARCHITECTURE];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string'))
    throw ModelConfigError.invalid('config.json: "architectures" must be a list of names');
  const foreign = architectures.filter((a) => a !== ARCHITECTURE && a !== 'GPTNeoXModel');
  if (foreign.length > 0) {
    throw unsupported(
      `config.json names architecture ${foreign.join(', ')}; for model_type "gpt_neox" Hearth runs ${ARCHITECTURE}`,
    );
  }
  const overrides: Record<string, unknown> = { architectures: [ARCHITECTURE] };
  for (const key of CONFIG_KEYS) if (r[key] !== undefined) overrides[key] = r[key];
  // transformers' newest configs carry RoPE's settings in rope_parameters
  const params = r.rope_parameters;
  const nested =
    typeof params === 'object' && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
  if (params !== undefined && params !== null && params !== nested)
    throw bad(`rope_parameters must be an object or null, got ${JSON.stringify(params)}`);
  const nestedType = nested.rope_type ?? nested.type ?? 'default';
  if (nestedType !== 'default')
    throw unsupported(
      `rope_parameters rope_type "${String(nestedType)}" is not supported for GPT-NeoX; Hearth runs default`,
    );
  const pct = eitherKey({ ...r, ...nested }, 'rotary_pct', 'partial_rotary_factor');
  const base = eitherKey({ ...r, ...nested }, 'rotary_emb_base', 'rope_theta');
  if (pct !== undefined) overrides.rotary_pct = pct;
  if (base !== undefined) overrides.rotary_emb_base = base;
  return makeNeoXConfig(overrides as Partial<NeoXConfig>);
}

/** config.json's object as Hugging Face writes it (both spellings of the rotary settings). */
export function neoxConfigToJson(c: NeoXConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  out.partial_rotary_factor = c.rotary_pct;
  out.rope_theta = c.rotary_emb_base;
  out.classifier_dropout = 0.1;
  out.torch_dtype ??= 'float32';
  return out;
}

/** The checks on what a model is built from: sizes, heads, epsilon, rotary. */
export function validateNeoXDims(d: NeoXDims): void {
  if (!isNeoXModelType(d.model_type)) throw unsupported(`model_type "${String(d.model_type)}" is not gpt_neox`);
  for (const key of [
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'max_position_embeddings',
  ] as const)
    checkPositiveInteger(key, d[key]);
  if (d.hidden_size % d.num_attention_heads !== 0) {
    throw unsupported(
      `hidden_size (${d.hidden_size}) must be divisible by num_attention_heads (${d.num_attention_heads})`,
    );
  }
  checkPositiveNumber('layer_norm_eps', d.layer_norm_eps);
  const pct = d.rotary_pct ?? 0.25;
  if (typeof pct !== 'number' || !(pct >= 0 && pct <= 1))
    throw bad(`rotary_pct must be a number from 0 to 1, got ${JSON.stringify(pct)}`);
  const R = rotaryDims(d);
  if (R % 2 !== 0) {
    throw unsupported(
      `rotary_pct ${pct} of head_dim ${neoxHeadDim(d)} rotates ${R} dims, an odd number; rotary embedding rotates pairs`,
    );
  }
  checkPositiveNumber('rotary_emb_base', rotaryBase(d));
  checkBoolean('use_parallel_residual', d.use_parallel_residual);
  checkBoolean('attention_bias', d.attention_bias);
  checkBoolean('tie_word_embeddings', d.tie_word_embeddings);
  const act = d.hidden_act ?? 'gelu';
  if (!ACTIVATIONS.includes(act))
    throw unsupported(
      `hidden_act "${String(act)}" is not supported for GPT-NeoX; Hearth runs ${ACTIVATIONS.join(', ')}`,
    );
}

/** Throws a ModelConfigError naming the first thing Hearth cannot run. */
function validateNeoXConfig(c: NeoXConfig): void {
  validateNeoXDims(c);
  if (c.rope_scaling !== null && c.rope_scaling !== undefined) {
    const s = c.rope_scaling as unknown as Record<string, unknown>;
    const type = typeof s === 'object' ? String(s.rope_type ?? s.type ?? 'unnamed') : JSON.stringify(s);
    throw unsupported(`rope_scaling type "${type}" is not supported for GPT-NeoX; Hearth runs it without rope_scaling`);
  }
  for (const key of ['attention_dropout', 'hidden_dropout'] as const) {
    if (c[key] !== 0 && c[key] !== undefined)
      throw unsupported(`${key} ${JSON.stringify(c[key])} is not supported; Hearth runs GPT-NeoX without dropout`);
  }
  checkPositiveNumber('initializer_range', c.initializer_range);
  const ids = [c.bos_token_id, ...(Array.isArray(c.eos_token_id) ? c.eos_token_id : [c.eos_token_id])];
  for (const id of ids) {
    if (id !== null && (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0))
      throw bad(`bos_token_id and eos_token_id must be token ids or null, got ${JSON.stringify(id)}`);
  }
  if (!Array.isArray(c.architectures) || c.architectures.some((a) => a !== ARCHITECTURE))
    throw unsupported(`architectures ${JSON.stringify(c.architectures)}: Hearth runs ${ARCHITECTURE}`);
}
