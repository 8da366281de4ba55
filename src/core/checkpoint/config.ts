// config.json and generation_config.json as a checkpoint holds them. The model reads and writes config.json
// (model/families); here its refusals become the checkpoint's own errors, with the same message.
import { ModelConfigError } from '../model/config_error.ts';
import type { ModelSizes } from '../model/family.ts';
import { parseModelConfig, sizesOf, type ModelConfig } from '../model/families/index.ts';
import { CheckpointError, invalid } from './errors.ts';

/**
 * The most each size may be in a config.json Hearth reads, so that a tiny file cannot ask for work or memory in
 * proportion to a number it makes up. Each is several times the largest published model's (Llama 3.1 405B: 126
 * layers, hidden 16384, 128 heads; Gemma 3: a 262144-token vocabulary; Llama 4 Scout: 10M positions) and far beyond
 * what one GPU trains.
 */
export const CONFIG_SIZE_LIMITS: Record<keyof ModelSizes, number> = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  num_attention_heads: 4096,
  num_key_value_heads: 4096,
  head_dim: 4096,
  vocab_size: 2 ** 21,
  max_position_embeddings: 2 ** 24,
};

/** Reads config.json; a config Hearth cannot run throws a CheckpointError ('invalid-file' or 'unsupported-model'). */
export function readModelConfig(text: string): ModelConfig {
  let config: ModelConfig;
  try {
    config = parseModelConfig(text);
  } catch (e) {
    if (!(e instanceof ModelConfigError)) throw e;
    throw new CheckpointError(e.code === 'unsupported-model' ? 'unsupported-model' : 'invalid-file', e.message, {
      cause: e,
    });
  }
  const sizes = sizesOf(config);
  for (const [key, limit] of Object.entries(CONFIG_SIZE_LIMITS) as [keyof ModelSizes, number][]) {
    if (sizes[key] > limit) {
      throw invalid(`config.json: ${key} ${sizes[key]} is over ${limit}, more than any model Hearth can load`);
    }
  }
  return config;
}

/** generation_config.json contents: an open record, since Hearth only reads a few keys. */
export type GenerationConfig = Record<string, unknown>;

export function defaultGenerationConfig(c: ModelConfig): GenerationConfig {
  return { _from_model_config: true, bos_token_id: c.bos_token_id, eos_token_id: c.eos_token_id };
}
