// GPT-Neo's configuration under Hugging Face's GPTNeoConfig key names (EleutherAI's GPT-Neo, roneneldan's
// TinyStories models), so config.json is read and written as it is; and the checks that refuse, with a reason, what
// Hearth cannot run.
import { checkPositiveInteger, ModelConfigError } from '../config_error.ts';

/** A layer's attention: the whole causal row, or the last window_size positions (its own included). */
export type GptNeoAttentionType = 'global' | 'local';

/** GPTNeoConfig's compressed layer pattern: [[pattern, repeats], …], e.g. [[["global", "local"], 12]]. */
export type GptNeoAttentionTypes = [GptNeoAttentionType[], number][];

export interface GptNeoConfig {
  model_type: 'gpt_neo';
  architectures: string[];
  vocab_size: number;
  max_position_embeddings: number;
  hidden_size: number;
  num_layers: number;
  num_heads: number;
  attention_types: GptNeoAttentionTypes;
  /** attention_types expanded, one per layer (GPTNeoConfig.attention_layers, which config.json also holds) */
  attention_layers: GptNeoAttentionType[];
  /** how many positions a local layer's query sees, its own included */
  window_size: number;
  /** the MLP's width; null means 4 · hidden_size */
  intermediate_size: number | null;
  activation_function: 'gelu_new';
  /** Dropout probabilities, in training steps only: resid_dropout on out_proj's and mlp.c_proj's outputs,
   * embed_dropout on wte + wpe, attention_dropout on the attention probabilities. */
  resid_dropout: number;
  embed_dropout: number;
  attention_dropout: number;
  classifier_dropout?: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  use_cache: boolean;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id?: number | null;
  /** lm_head shares wte (HF's default); false gives the head a weight of its own */
  tie_word_embeddings: boolean;
  torch_dtype?: string;
  transformers_version?: string;
}

/** What building and running a GPT-Neo needs: presets and tests give no more than this. */
export type GptNeoDims = Pick<
  GptNeoConfig,
  | 'model_type'
  | 'vocab_size'
  | 'max_position_embeddings'
  | 'hidden_size'
  | 'num_layers'
  | 'num_heads'
  | 'attention_types'
  | 'window_size'
  | 'layer_norm_epsilon'
> &
  Partial<
    Pick<
      GptNeoConfig,
      'intermediate_size' | 'resid_dropout' | 'embed_dropout' | 'attention_dropout' | 'tie_word_embeddings'
    >
  >;

const ARCHITECTURE = 'GPTNeoForCausalLM';
const RUNNABLE_ARCHITECTURES = new Set([ARCHITECTURE, 'GPTNeoModel']);

export const isGptNeoModelType = (t: unknown): t is 'gpt_neo' => t === 'gpt_neo';
export const gptNeoInnerDim = (d: GptNeoDims): number => d.intermediate_size ?? 4 * d.hidden_size;
export const gptNeoTiedHead = (d: GptNeoDims): boolean => d.tie_word_embeddings ?? true;

const bad = (m: string) => ModelConfigError.invalid(`config: ${m}`);
const unsupported = (m: string) => ModelConfigError.unsupported(m);

/** GPTNeoConfig.expand_attention_types_params: each pattern repeated its count of times, in order. */
export function expandAttentionTypes(types: GptNeoAttentionTypes): GptNeoAttentionType[] {
  if (!Array.isArray(types))
    throw bad(`attention_types must be a list of [pattern, repeats], got ${JSON.stringify(types)}`);
  const out: GptNeoAttentionType[] = [];
  for (const item of types) {
    const [pattern, repeats] = Array.isArray(item) ? item : [];
    if (!Array.isArray(pattern) || !Number.isSafeInteger(repeats) || (repeats as number) < 0)
      throw bad(`attention_types must be a list of [pattern, repeats], got ${JSON.stringify(item)}`);
    for (const t of pattern) {
      if (t !== 'global' && t !== 'local')
        throw unsupported(`attention_types names "${String(t)}"; GPT-Neo's layers are "global" or "local"`);
    }
    for (let r = 0; r < (repeats as number); r++) out.push(...pattern);
  }
  return out;
}

/**
 * Layer l's local window: query i sees keys j with i − window_size < j ≤ i, as modeling_gpt_neo's local layers'
 * mask, tril(ones) xor tril(ones, −window_size). Undefined for a global layer (the whole causal row).
 */
export function gptNeoWindow(d: GptNeoDims, l: number): number | undefined {
  return expandAttentionTypes(d.attention_types)[l] === 'local' ? d.window_size : undefined;
}

/** Hugging Face's GPTNeoConfig defaults, then the overrides, validated. */
export function makeGptNeoConfig(overrides: Partial<GptNeoConfig> = {}): GptNeoConfig {
  const vocab = overrides.vocab_size ?? 50257;
  const special = Math.min(50256, vocab - 1);
  const c: GptNeoConfig = {
    architectures: [ARCHITECTURE],
    vocab_size: vocab,
    max_position_embeddings: 2048,
    hidden_size: 2048,
    num_layers: 24,
    num_heads: 16,
    attention_types: [[['global', 'local'], 12]],
    attention_layers: [],
    window_size: 256,
    intermediate_size: null,
    activation_function: 'gelu_new',
    resid_dropout: 0,
    embed_dropout: 0,
    attention_dropout: 0,
    classifier_dropout: 0.1,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    use_cache: true,
    bos_token_id: special,
    eos_token_id: special,
    tie_word_embeddings: true,
    ...overrides,
    model_type: 'gpt_neo',
  };
  const expanded = expandAttentionTypes(c.attention_types);
  if (
    overrides.attention_layers !== undefined &&
    JSON.stringify(overrides.attention_layers) !== JSON.stringify(expanded)
  )
    throw bad(
      `attention_layers ${JSON.stringify(overrides.attention_layers)} disagrees with attention_types ${JSON.stringify(c.attention_types)}`,
    );
  c.attention_layers = expanded;
  validateGptNeoConfig(c);
  return c;
}

const CONFIG_KEYS = [
  'vocab_size',
  'max_position_embeddings',
  'hidden_size',
  'num_layers',
  'num_heads',
  'attention_types',
  'attention_layers',
  'window_size',
  'intermediate_size',
  'activation_function',
  'resid_dropout',
  'embed_dropout',
  'attention_dropout',
  'classifier_dropout',
  'layer_norm_epsilon',
  'initializer_range',
  'use_cache',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'tie_word_embeddings',
  'torch_dtype',
  'transformers_version',
] as const;

/** A parsed config.json object whose model_type is gpt_neo: HF's defaults for missing keys, validated. */
export function gptNeoConfigFromJson(r: Record<string, unknown>): GptNeoConfig {
  const architectures = r.architectures ?? [ARCHITECTURE];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string'))
    throw ModelConfigError.invalid('config.json: "architectures" must be a list of names');
  const foreign = architectures.filter((a) => !RUNNABLE_ARCHITECTURES.has(a));
  if (foreign.length > 0) {
    throw unsupported(
      `config.json names architecture ${foreign.join(', ')}; for model_type "gpt_neo" Hearth runs ${ARCHITECTURE}`,
    );
  }
  const overrides: Record<string, unknown> = { architectures: [ARCHITECTURE] };
  for (const key of CONFIG_KEYS) if (r[key] !== undefined) overrides[key] = r[key];
  // HF's attribute_map names: num_attention_heads for num_heads, num_hidden_layers for num_layers
  if (overrides.num_heads === undefined && r.num_attention_heads !== undefined)
    overrides.num_heads = r.num_attention_heads;
  if (overrides.num_layers === undefined && r.num_hidden_layers !== undefined)
    overrides.num_layers = r.num_hidden_layers;
  return makeGptNeoConfig(overrides as Partial<GptNeoConfig>);
}

/** config.json's object as Hugging Face writes it. */
export function gptNeoConfigToJson(c: GptNeoConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  out.torch_dtype ??= 'float32';
  return out;
}

/** The checks on what a model is built from: sizes, the layer pattern, epsilon and (where given) the dropout rates. */
export function validateGptNeoDims(d: GptNeoDims): void {
  if (!isGptNeoModelType(d.model_type)) throw unsupported(`model_type "${String(d.model_type)}" is not "gpt_neo"`);
  for (const key of [
    'vocab_size',
    'max_position_embeddings',
    'hidden_size',
    'num_layers',
    'num_heads',
    'window_size',
  ] as const)
    checkPositiveInteger(key, d[key]);
  if (d.intermediate_size !== undefined && d.intermediate_size !== null)
    checkPositiveInteger('intermediate_size', d.intermediate_size);
  if (d.hidden_size % d.num_heads !== 0) {
    throw unsupported(
      `hidden_size (${d.hidden_size}) must be divisible by num_heads (${d.num_heads}): each head gets hidden_size / num_heads channels`,
    );
  }
  const layers = expandAttentionTypes(d.attention_types);
  if (layers.length !== d.num_layers) {
    throw bad(
      `attention_types ${JSON.stringify(d.attention_types)} gives ${layers.length} layers but num_layers is ${d.num_layers}`,
    );
  }
  const eps = d.layer_norm_epsilon;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps))
    throw bad(`layer_norm_epsilon must be a positive number, got ${JSON.stringify(eps)}`);
  for (const key of ['resid_dropout', 'embed_dropout', 'attention_dropout'] as const) {
    const p = d[key];
    if (p !== undefined && (typeof p !== 'number' || !(p >= 0 && p < 1)))
      throw bad(`${key} must be in [0, 1), got ${JSON.stringify(p)}`);
  }
}

/** Throws a ModelConfigError naming the first thing Hearth cannot run. */
function validateGptNeoConfig(c: GptNeoConfig): void {
  validateGptNeoDims(c);
  if (c.activation_function !== 'gelu_new') {
    throw unsupported(
      `activation_function "${String(c.activation_function)}" is not supported; Hearth runs GPT-Neo's gelu_new`,
    );
  }
  const range = c.initializer_range;
  if (typeof range !== 'number' || !(range > 0) || !Number.isFinite(range))
    throw bad(`initializer_range must be a positive number, got ${JSON.stringify(range)}`);
  if (typeof c.tie_word_embeddings !== 'boolean')
    throw bad(`tie_word_embeddings must be true or false, got ${JSON.stringify(c.tie_word_embeddings)}`);
  for (const key of ['bos_token_id', 'eos_token_id'] as const) {
    const id = c[key];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= c.vocab_size)
      throw bad(`${key} must be a token id below vocab_size ${c.vocab_size}, got ${JSON.stringify(id)}`);
  }
}
