// The Llama family's configuration under Hugging Face's key names (LlamaConfig, MistralConfig, Qwen2Config: one
// architecture, three model_types with their own defaults), so config.json is read and written as it is; and the
// checks that refuse, with a reason, what Hearth cannot run.
import { checkPositiveInteger, checkPositiveNumber, ModelConfigError } from '../config_error.ts';
import { ROPE_TYPES, ropeType, type RopeScaling } from '../rope.ts';

export type LlamaModelType = 'llama' | 'mistral' | 'qwen2';
const LLAMA_MODEL_TYPES: readonly LlamaModelType[] = ['llama', 'mistral', 'qwen2'];

export interface LlamaConfig {
  model_type: LlamaModelType;
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  /** the SwiGLU MLP's width */
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** heads of keys and values, each shared by num_attention_heads / num_key_value_heads query heads */
  num_key_value_heads: number;
  /** each head's width; hidden_size / num_attention_heads unless given */
  head_dim: number;
  max_position_embeddings: number;
  hidden_act: 'silu';
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  /** biases on q, k, v and o_proj (Llama's attention_bias; Qwen2 always has q, k, v biases and none on o_proj) */
  attention_bias?: boolean;
  /** biases on gate, up and down_proj */
  mlp_bias?: boolean;
  attention_dropout: number;
  initializer_range: number;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  pad_token_id?: number | null;
  use_cache: boolean;
  /** Mistral's and Qwen2's local attention (slidingWindow): a query sees its own position and the sliding_window − 1
   * before it; null for none */
  sliding_window?: number | null;
  use_sliding_window?: boolean;
  max_window_layers?: number;
  torch_dtype?: string;
  transformers_version?: string;
}

/** What building and running a Llama-family model needs: presets and tests give no more than this. */
export type LlamaDims = Pick<
  LlamaConfig,
  | 'model_type'
  | 'vocab_size'
  | 'hidden_size'
  | 'intermediate_size'
  | 'num_hidden_layers'
  | 'num_attention_heads'
  | 'max_position_embeddings'
  | 'rms_norm_eps'
> &
  Partial<
    Pick<
      LlamaConfig,
      | 'num_key_value_heads'
      | 'head_dim'
      | 'rope_theta'
      | 'rope_scaling'
      | 'attention_bias'
      | 'mlp_bias'
      | 'tie_word_embeddings'
      | 'initializer_range'
      | 'sliding_window'
      | 'use_sliding_window'
      | 'max_window_layers'
    >
  >;

const ARCHITECTURE: Record<LlamaModelType, string> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
};

export const isLlamaModelType = (t: unknown): t is LlamaModelType => LLAMA_MODEL_TYPES.includes(t as LlamaModelType);

export const kvHeads = (d: LlamaDims): number => d.num_key_value_heads ?? d.num_attention_heads;
export const headDim = (d: LlamaDims): number => d.head_dim ?? d.hidden_size / d.num_attention_heads;
export const ropeTheta = (d: LlamaDims): number => d.rope_theta ?? 10000;
export const tiedHead = (d: LlamaDims): boolean => d.tie_word_embeddings ?? false;
/** q, k and v_proj carry biases: Qwen2 always, Llama with attention_bias */
export const qkvBias = (d: LlamaDims): boolean => d.model_type === 'qwen2' || (d.attention_bias ?? false);
/** o_proj carries a bias: Llama with attention_bias */
export const oBias = (d: LlamaDims): boolean => d.model_type !== 'qwen2' && (d.attention_bias ?? false);
export const mlpBias = (d: LlamaDims): boolean => d.mlp_bias ?? false;

/**
 * Layer l's local window, as transformers runs it: query i sees keys j with i − sliding_window < j ≤ i
 * (masking_utils' sliding_window_overlay, kv_idx > q_idx − sliding_window). Mistral windows every layer when
 * sliding_window is set; Qwen2 only with use_sliding_window, and then the layers from max_window_layers on
 * (Qwen2Config's layer_types). Undefined: the whole causal row.
 */
export function slidingWindow(d: LlamaDims, l: number): number | undefined {
  const w = d.sliding_window;
  if (typeof w !== 'number') return undefined;
  if (d.model_type === 'mistral') return w;
  if (d.model_type === 'qwen2' && d.use_sliding_window === true && l >= (d.max_window_layers ?? 0)) return w;
  return undefined;
}

/** Hugging Face's defaults per model_type (the __init__ defaults of LlamaConfig, MistralConfig, Qwen2Config). */
function defaults(t: LlamaModelType): LlamaConfig {
  const common = {
    model_type: t,
    architectures: [ARCHITECTURE[t]],
    hidden_size: 4096,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    hidden_act: 'silu' as const,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    rope_scaling: null,
    attention_dropout: 0,
    initializer_range: 0.02,
    tie_word_embeddings: false,
    use_cache: true,
  };
  if (t === 'llama') {
    return {
      ...common,
      vocab_size: 32000,
      intermediate_size: 11008,
      num_key_value_heads: 32,
      head_dim: 128,
      max_position_embeddings: 2048,
      attention_bias: false,
      mlp_bias: false,
      bos_token_id: 1,
      eos_token_id: 2,
    };
  }
  if (t === 'mistral') {
    return {
      ...common,
      vocab_size: 32000,
      intermediate_size: 14336,
      num_key_value_heads: 8,
      head_dim: 128,
      max_position_embeddings: 4096 * 32,
      bos_token_id: 1,
      eos_token_id: 2,
      sliding_window: 4096,
    };
  }
  return {
    ...common,
    vocab_size: 151936,
    intermediate_size: 22016,
    num_key_value_heads: 32,
    head_dim: 128,
    max_position_embeddings: 32768,
    bos_token_id: null,
    eos_token_id: null,
    use_sliding_window: false,
    sliding_window: 4096,
    max_window_layers: 28,
  };
}

const bad = (m: string) => ModelConfigError.invalid(`config: ${m}`);
const unsupported = (m: string) => ModelConfigError.unsupported(m);

/** HF's defaults for the model_type, then the overrides (head_dim and num_key_value_heads follow the sizes given). */
export function makeLlamaConfig(t: LlamaModelType, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  const base = defaults(t);
  const c: LlamaConfig = { ...base, ...overrides, model_type: t };
  const heads = overrides.num_attention_heads ?? base.num_attention_heads;
  const hidden = overrides.hidden_size ?? base.hidden_size;
  // without head_dim, validate names an indivisible hidden_size
  if (overrides.head_dim === undefined || overrides.head_dim === null)
    c.head_dim = hidden % heads === 0 ? hidden / heads : (undefined as unknown as number);
  // Llama's and Qwen2's num_key_value_heads default to num_attention_heads; Mistral's to 8
  if (overrides.num_key_value_heads === undefined || overrides.num_key_value_heads === null)
    c.num_key_value_heads = t === 'mistral' ? base.num_key_value_heads : heads;
  validateLlamaConfig(c);
  return c;
}

/** The keys read from config.json beyond the model_type; others (HF's generic ones) are dropped. */
const CONFIG_KEYS = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'max_position_embeddings',
  'hidden_act',
  'rms_norm_eps',
  'rope_theta',
  'rope_scaling',
  'attention_bias',
  'mlp_bias',
  'attention_dropout',
  'initializer_range',
  'tie_word_embeddings',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'use_cache',
  'sliding_window',
  'use_sliding_window',
  'max_window_layers',
  'torch_dtype',
  'transformers_version',
  'pretraining_tp',
  'partial_rotary_factor',
] as const;

/** A parsed config.json object of a Llama-family model_type: HF's defaults for missing keys, validated. */
export function llamaConfigFromJson(r: Record<string, unknown>): LlamaConfig {
  const t = r.model_type as LlamaModelType;
  const architectures = r.architectures ?? [ARCHITECTURE[t]];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string'))
    throw ModelConfigError.invalid('config.json: "architectures" must be a list of names');
  const runnable = new Set([ARCHITECTURE[t], ARCHITECTURE[t].replace('ForCausalLM', 'Model')]);
  const foreign = architectures.filter((a) => !runnable.has(a));
  if (foreign.length > 0) {
    throw unsupported(
      `config.json names architecture ${foreign.join(', ')}; for model_type "${t}" Hearth runs ${ARCHITECTURE[t]}`,
    );
  }
  const overrides: Record<string, unknown> = { architectures: [ARCHITECTURE[t]] };
  for (const key of CONFIG_KEYS) if (r[key] !== undefined) overrides[key] = r[key];
  if ((overrides.pretraining_tp ?? 1) !== 1) throw unsupported('pretraining_tp other than 1 is not supported');
  if ((overrides.partial_rotary_factor ?? 1) !== 1)
    throw unsupported('partial_rotary_factor other than 1 is not supported for Llama-family models');
  delete overrides.pretraining_tp;
  delete overrides.partial_rotary_factor;
  for (const key of ['attention_bias', 'mlp_bias'] as const) if (t !== 'llama') delete overrides[key];
  if (overrides.rope_theta === null) delete overrides.rope_theta;
  return makeLlamaConfig(t, overrides as Partial<LlamaConfig>);
}

/** config.json's object as Hugging Face writes it. */
export function llamaConfigToJson(c: LlamaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  if (c.model_type === 'llama') out.pretraining_tp = 1;
  out.torch_dtype ??= 'float32';
  return out;
}

/** The checks on what a model is built from: sizes, heads, epsilon, RoPE. */
export function validateLlamaDims(d: LlamaDims): void {
  if (!isLlamaModelType(d.model_type)) throw unsupported(`model_type "${String(d.model_type)}" is not a Llama family`);
  for (const key of [
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'max_position_embeddings',
  ] as const)
    checkPositiveInteger(key, d[key]);
  if (d.head_dim !== undefined && d.head_dim !== null) checkPositiveInteger('head_dim', d.head_dim);
  else if (d.hidden_size % d.num_attention_heads !== 0) {
    throw unsupported(
      `hidden_size (${d.hidden_size}) must be divisible by num_attention_heads (${d.num_attention_heads}) when config.json gives no head_dim`,
    );
  }
  if (headDim(d) % 2 !== 0) throw unsupported(`head_dim ${headDim(d)} is odd; rotary embedding rotates pairs`);
  const K = kvHeads(d);
  checkPositiveInteger('num_key_value_heads', K);
  if (d.num_attention_heads % K !== 0) {
    throw unsupported(
      `num_attention_heads (${d.num_attention_heads}) must be a multiple of num_key_value_heads (${K}): query heads share key/value heads in equal groups`,
    );
  }
  checkPositiveNumber('rms_norm_eps', d.rms_norm_eps);
  checkPositiveNumber('rope_theta', ropeTheta(d));
  validateRopeScaling(d.rope_scaling);
}

function validateRopeScaling(s: RopeScaling | null | undefined): void {
  if (s === undefined || s === null) return;
  if (typeof s !== 'object' || Array.isArray(s)) throw bad(`rope_scaling must be an object or null`);
  const type = ropeType(s);
  if (!(ROPE_TYPES as readonly string[]).includes(type)) {
    throw unsupported(`rope_scaling type "${type}" is not supported; Hearth runs ${ROPE_TYPES.join(', ')}`);
  }
  if (type === 'linear' || type === 'llama3') checkPositiveNumber('rope_scaling.factor', s.factor);
  if (type === 'llama3') {
    checkPositiveNumber('rope_scaling.low_freq_factor', s.low_freq_factor);
    checkPositiveNumber('rope_scaling.high_freq_factor', s.high_freq_factor);
    checkPositiveInteger('rope_scaling.original_max_position_embeddings', s.original_max_position_embeddings);
    if (!(s.high_freq_factor! > s.low_freq_factor!))
      throw bad('rope_scaling.high_freq_factor must be greater than low_freq_factor');
  }
}

/** Throws a ModelConfigError naming the first thing Hearth cannot run. */
function validateLlamaConfig(c: LlamaConfig): void {
  validateLlamaDims(c);
  if (c.hidden_act !== 'silu')
    throw unsupported(`hidden_act "${String(c.hidden_act)}" is not supported; Hearth runs silu (SwiGLU)`);
  if (c.attention_dropout !== 0 && c.attention_dropout !== undefined)
    throw unsupported(`attention_dropout ${c.attention_dropout} is not supported; Hearth runs Llama without dropout`);
  checkPositiveNumber('initializer_range', c.initializer_range);
  const window = c.sliding_window;
  if (window !== undefined && window !== null) checkPositiveInteger('sliding_window', window);
  if (c.max_window_layers !== undefined && c.max_window_layers !== null) {
    const m = c.max_window_layers;
    if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 0)
      throw bad(`max_window_layers must be a whole number of layers, got ${JSON.stringify(m)}`);
  }
  const ids = [c.bos_token_id, ...(Array.isArray(c.eos_token_id) ? c.eos_token_id : [c.eos_token_id])];
  for (const id of ids) {
    if (id !== null && (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0))
      throw bad(`bos_token_id and eos_token_id must be token ids or null, got ${JSON.stringify(id)}`);
  }
  if (!Array.isArray(c.architectures) || c.architectures.some((a) => a !== ARCHITECTURE[c.model_type]))
    throw unsupported(`architectures ${JSON.stringify(c.architectures)}: Hearth runs ${ARCHITECTURE[c.model_type]}`);
}
