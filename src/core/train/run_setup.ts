// What a training run starts from, decided in one place for the CLI and the page's worker: a new model from a
// preset, a checkpoint's weights to fine-tune with a fresh optimizer, or a checkpoint's run to continue exactly.
import type { HearthCheckpoint } from '../checkpoint/hf_folder.ts';
import { CausalLM } from '../model/causal_lm.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import { sizesOf, type ModelConfig } from '../model/families/index.ts';
import { presetConfig } from '../model/presets.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { tokenizerOf } from '../checkpoint/tokenizer_files.ts';
import { resolveArguments, DEFAULT_TRAINING_ARGUMENTS, type TrainingArguments } from './args.ts';
import { resumePointOf, type ResumePoint } from './checkpointing.ts';
import { checkTokenizerFitsModel, tokenizerFileName } from './tokenizer_fit.ts';

export type RunSource =
  /** a new model: the preset's shape, the tokenizer's vocabulary, `dropout` as its three rates (HF's 0.1 if absent) */
  | { kind: 'preset'; presetId: string; tokenizer: Tokenizer; dropout?: number }
  /** a checkpoint's weights with a fresh optimizer; its own tokenizer unless one is given (already read) */
  | { kind: 'fine-tune'; checkpoint: HearthCheckpoint; tokenizer?: Tokenizer }
  /** a checkpoint's run, continued exactly (weights, AdamW moments, step, data position); `name` for messages */
  | { kind: 'resume'; checkpoint: HearthCheckpoint; name: string; tokenizer?: Tokenizer };

export interface RunSetup {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** what the trainer continues from; null for a new run */
  resume: ResumePoint | null;
  /** puts the model on the GPU; called once every check has passed (`seed` initialises a new model) */
  makeModel(seed: number): CausalLM;
  /** the checkpoint's weights, which makeModel puts on the GPU and the checkpoint keeps on the host; not a preset's */
  baseWeights?: NamedTensors;
}

/** A checkpoint asked to resume holds only a model. */
export class NoTrainingStateError extends Error {
  constructor(name: string) {
    super(`${name} holds no training state to resume from (it is a plain model): fine-tune it instead`);
    this.name = 'NoTrainingStateError';
  }
}

/**
 * The tokenizer a checkpoint's files hold, checked against its model; generation_config.json's eos_token_id lists
 * where generation stops.
 */
export function checkpointTokenizer(
  ckpt: Pick<HearthCheckpoint, 'config' | 'tokenizer' | 'generationConfig'>,
): Tokenizer {
  const tokenizer = tokenizerOf(ckpt.tokenizer, ckpt.generationConfig);
  checkTokenizerFitsModel(tokenizer, ckpt.config, tokenizerFileName(ckpt.tokenizer));
  return tokenizer;
}

export function setUpRun(start: RunSource): RunSetup {
  if (start.kind === 'preset') {
    const config = presetConfig(start.presetId, start.tokenizer, start.dropout);
    return { config, tokenizer: start.tokenizer, resume: null, makeModel: (seed) => CausalLM.init(config, seed) };
  }
  const ckpt = start.checkpoint;
  let resume: ResumePoint | null = null;
  if (start.kind === 'resume') {
    resume = resumePointOf(ckpt);
    if (!resume) throw new NoTrainingStateError(start.name);
  }
  if (start.tokenizer) checkTokenizerFitsModel(start.tokenizer, ckpt.config, 'the tokenizer');
  return {
    config: ckpt.config,
    tokenizer: start.tokenizer ?? checkpointTokenizer(ckpt),
    resume,
    makeModel: () => CausalLM.fromArrays(ckpt.config, ckpt.weights),
    baseWeights: ckpt.weights,
  };
}

/**
 * Training arguments from those given: a resumed run takes its saved arguments, the given ones over them; otherwise
 * the defaults, with block_size no longer than the model's n_positions.
 */
export function runArguments(
  given: Partial<TrainingArguments>,
  setup: Pick<RunSetup, 'config' | 'resume'>,
): TrainingArguments {
  const positions = sizesOf(setup.config).max_position_embeddings;
  if (setup.resume) return resolveArguments({ ...setup.resume.args, ...given }, positions);
  const blockSize = given.block_size ?? Math.min(DEFAULT_TRAINING_ARGUMENTS.block_size, positions);
  return resolveArguments({ ...given, block_size: blockSize }, positions);
}
