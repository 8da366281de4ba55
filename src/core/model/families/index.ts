// The model families Hearth runs, by Hugging Face's model_type, and what is asked of a config before the family that
// reads it is known: which family it is, its parameter count, its config.json.
import { ModelConfigError } from '../config_error.ts';
import type { ModelFamily, ModelSizes } from '../family.ts';
import { gpt2 } from './gpt2.ts';
import { gptNeoX } from './gpt_neox.ts';
import { isNeoXModelType, neoxHeadDim, rotaryDims, type NeoXConfig, type NeoXDims } from './gpt_neox_config.ts';
import type { GPT2Config, GPT2Dims } from './gpt2_config.ts';
import { llama, mistral, qwen2 } from './llama.ts';
import { isLlamaModelType, type LlamaConfig, type LlamaDims } from './llama_config.ts';
import { gptNeo } from './gpt_neo.ts';
import { isGptNeoModelType, type GptNeoConfig, type GptNeoDims } from './gpt_neo_config.ts';

/** A model's config as config.json holds it, under its family's Hugging Face names. */
export type ModelConfig = GPT2Config | LlamaConfig | NeoXConfig | GptNeoConfig;

/** What a model is built from: a whole ModelConfig, or (presets, tests) its sizes and rates alone. */
export type ModelDims = GPT2Dims | LlamaDims | NeoXDims | GptNeoDims;

const FAMILIES = [gpt2, llama, mistral, qwen2, gptNeoX, gptNeo] as ModelFamily<ModelDims, ModelConfig>[];

function unknownModelType(modelType: string): ModelConfigError {
  const known = FAMILIES.map((f) => `${f.label} models (model_type "${f.modelType}")`).join(', ');
  return ModelConfigError.unsupported(`config.json says model_type "${modelType}"; Hearth runs ${known}`);
}

/** The family of a config (GPT-2's when it names none, as config.json files of GPT-2 may not). */
export function familyOf(d: { model_type?: unknown }): ModelFamily<ModelDims, ModelConfig> {
  const modelType = String(d.model_type ?? 'gpt2');
  const family = FAMILIES.find((f) => f.modelType === modelType);
  if (!family) throw unknownModelType(modelType);
  return family;
}

/** The family's name for people ("GPT-2", "Llama", …) from config.json's model_type (GPT-2's when absent). */
export function familyLabel(modelType: string | undefined): string {
  const type = modelType ?? 'gpt2';
  return FAMILIES.find((f) => f.modelType === type)?.label ?? type;
}

/** The model's sizes under its family's own config.json names, for people: "n_layer 2 · n_embd 128 · …". */
export function describeDims(d: ModelDims): string {
  if (isLlamaModelType(d.model_type)) {
    const l = d as LlamaDims;
    const s = sizesOf(l);
    return (
      `num_hidden_layers ${s.num_hidden_layers} · hidden_size ${s.hidden_size} · num_attention_heads ` +
      `${s.num_attention_heads} · num_key_value_heads ${s.num_key_value_heads} · max_position_embeddings ${s.max_position_embeddings}`
    );
  }
  if (isNeoXModelType(d.model_type)) {
    const x = d as NeoXDims;
    return (
      `num_hidden_layers ${x.num_hidden_layers} · hidden_size ${x.hidden_size} · num_attention_heads ` +
      `${x.num_attention_heads} · rotary dims ${rotaryDims(x)} of ${neoxHeadDim(x)} · max_position_embeddings ${x.max_position_embeddings}`
    );
  }
  if (isGptNeoModelType(d.model_type)) {
    const n = d as GptNeoDims;
    return (
      `num_layers ${n.num_layers} · hidden_size ${n.hidden_size} · num_heads ${n.num_heads} · window_size ` +
      `${n.window_size} · max_position_embeddings ${n.max_position_embeddings}`
    );
  }
  const g = d as GPT2Dims;
  return `n_layer ${g.n_layer} · n_embd ${g.n_embd} · n_head ${g.n_head} · n_positions ${g.n_positions}`;
}

/** The sizes under Hugging Face's common names. */
export function sizesOf(d: ModelDims): ModelSizes {
  return familyOf(d).sizes(d);
}

/** Every parameter of the model by its Hugging Face name, with its shape. */
export function parameterShapes(d: ModelDims): [string, number[]][] {
  return familyOf(d).parameterShapes(d);
}

export function parameterCount(d: ModelDims): number {
  return parameterShapes(d).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** Reads config.json (text or parsed), fills the family's defaults for missing keys, and validates. */
export function parseModelConfig(source: string | unknown): ModelConfig {
  let raw: unknown = source;
  if (typeof source === 'string') {
    try {
      raw = JSON.parse(source);
    } catch (e) {
      throw ModelConfigError.invalid(`config.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw ModelConfigError.invalid('config.json must hold a JSON object');
  }
  const json = raw as Record<string, unknown>;
  return familyOf(json).configFromJson(json);
}

/** config.json text as Hugging Face writes it, keys sorted. */
export function modelConfigToJson(c: ModelConfig): string {
  const json = familyOf(c).configToJson(c);
  const sorted = Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted, null, 2) + '\n';
}
