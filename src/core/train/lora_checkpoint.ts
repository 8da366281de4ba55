// A LoRA run's checkpoint: the adapter as PEFT saves it (adapter_config.json, adapter_model.safetensors) with Hearth's
// training state beside it (hearth_state.json, and optimizer.safetensors holding AdamW's moments of the adapter's
// tensors alone), so that the run resumes exactly on the same base: adapter, moments, step and data position.
import { adapterFromFiles, adapterToFiles, type PeftAdapter } from '../checkpoint/peft_adapter.ts';
import type { CheckpointFiles } from '../checkpoint/hf_folder.ts';
import {
  OPTIMIZER_FILE,
  STATE_FILE,
  trainingStateFromFiles,
  trainingStateToFiles,
} from '../checkpoint/training_state.ts';
import { CheckpointError } from '../checkpoint/errors.ts';
import type { ModelConfig } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import type { LoraConfig } from '../model/lora/config.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { resumePointOf, snapshotToCheckpoint, type ResumePoint } from './checkpointing.ts';
import type { TrainerSnapshot } from './trainer.ts';

/** The files of a LoRA run's checkpoint from the trainer's snapshot (whose optimizer state covers the adapter). */
export function loraSnapshotToFiles(
  snap: TrainerSnapshot,
  config: ModelConfig,
  lora: LoraConfig,
  baseModel: string,
  tokenizer: Tokenizer,
): CheckpointFiles {
  // What the optimizer trains is what the adapter saves: its tensors and modules_to_save's parameters.
  const adapter: NamedTensors = new Map([...snap.optimizer.m.keys()].map((n) => [n, snap.weights.get(n)!]));
  const training = snapshotToCheckpoint({ ...snap, weights: adapter }, config, tokenizer).training!;
  const files = adapterToFiles(config, lora, adapter, baseModel);
  for (const [name, bytes] of trainingStateToFiles(training, adapter)) files.set(name, bytes);
  files.set('tokenizer.json', new TextEncoder().encode(tokenizer.toTokenizerJson()));
  return files;
}

/** A LoRA checkpoint's adapter (checked against the base) and where its run stands. */
export function loraResumeFromFiles(
  files: CheckpointFiles,
  base: ModelConfig,
): { adapter: PeftAdapter; resume: ResumePoint } {
  const adapter = adapterFromFiles(files, base);
  const state = files.get(STATE_FILE);
  if (!state) throw new CheckpointError('missing-file', `no ${STATE_FILE} beside the adapter: it cannot resume a run`);
  const training = trainingStateFromFiles(state, files.get(OPTIMIZER_FILE), adapter.tensors);
  const resume = resumePointOf({ config: base, weights: adapter.tensors, tokenizer: {}, training });
  if (!resume)
    throw new CheckpointError('missing-file', `${STATE_FILE} has no optimizer state: it cannot resume a run`);
  return { adapter, resume };
}
