// config.json and generation_config.json as a checkpoint holds them. The model reads and writes config.json
// (model/families); here its refusals become the checkpoint's own errors, with the same message.
import { ModelConfigError } from '../model/config_error.ts';
import { parseModelConfig, type ModelConfig } from '../model/families/index.ts';
import { CheckpointError } from './errors.ts';

/** Reads config.json; a config Hearth cannot run throws a CheckpointError ('invalid-file' or 'unsupported-model'). */
export function readModelConfig(text: string): ModelConfig {
  try {
    return parseModelConfig(text);
  } catch (e) {
    if (!(e instanceof ModelConfigError)) throw e;
    throw new CheckpointError(e.code === 'unsupported-model' ? 'unsupported-model' : 'invalid-file', e.message, {
      cause: e,
    });
  }
}

/** generation_config.json contents: an open record, since Hearth only reads a few keys. */
export type GenerationConfig = Record<string, unknown>;

export function defaultGenerationConfig(c: ModelConfig): GenerationConfig {
  return { _from_model_config: true, bos_token_id: c.bos_token_id, eos_token_id: c.eos_token_id };
}
