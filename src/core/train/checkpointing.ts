// Between the trainer's snapshots and the checkpoint format: a snapshot becomes a Hugging Face checkpoint
// with Hearth's training state beside it, and a checkpoint gives back what an exact resume needs.
import type { HearthCheckpoint } from '../checkpoint/hf_folder.ts';
import { sizesOf, type ModelConfig } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { batchPositionProblem, type BatchPosition } from '../data/batches.ts';
import { invalid } from '../checkpoint/errors.ts';
import { tokenizerFiles } from '../checkpoint/tokenizer_files.ts';
import { STATE_FILE } from '../checkpoint/training_state.ts';
import { resolveArguments, type TrainingArguments } from './args.ts';
import type { EvalResult, LogEntry, TrainerSnapshot, TrainerState } from './trainer.ts';
import type { LossScaleState } from './loss_scaler.ts';

export function snapshotToCheckpoint(
  snap: TrainerSnapshot,
  config: ModelConfig,
  tokenizer: Tokenizer,
): HearthCheckpoint {
  const moments = (src: Map<string, Float32Array>): NamedTensors =>
    new Map([...src].map(([name, data]) => [name, { shape: snap.weights.get(name)!.shape, data }]));
  return {
    config,
    weights: snap.weights,
    tokenizer: tokenizerFiles(tokenizer),
    training: {
      step: snap.state.step,
      epoch: snap.state.epoch,
      trainerArgs: { ...snap.args },
      dataPosition: snap.state.dataPosition,
      rngState: {
        optimizer_step: snap.optimizer.step,
        ...(snap.state.lossScale ? { loss_scaler: snap.state.lossScale } : {}),
      },
      lossHistory: snap.state.logHistory.map((e) => ({ ...e }) as unknown as { step: number; [k: string]: number }),
      bestEvalLoss: snap.state.bestEvalLoss,
      evalLoss: snap.state.lastEvalLoss,
      optimizer: { expAvg: moments(snap.optimizer.m), expAvgSq: moments(snap.optimizer.v) },
    },
  };
}

export interface ResumePoint {
  args: TrainingArguments;
  state: TrainerState;
  optimizer: TrainerSnapshot['optimizer'];
}

/**
 * What the trainer needs to continue exactly where the checkpoint was saved; null when it holds no training state.
 * The counters and the data position are checked here (a corrupt one would resume silently from the wrong place);
 * whether the position fits the data is checked where the two meet, by the trainer.
 */
export function resumePointOf(ckpt: HearthCheckpoint): ResumePoint | null {
  const t = ckpt.training;
  if (!t || !t.optimizer) return null;
  const fail = (m: string) => invalid(`${STATE_FILE}: ${m}`);
  const args = resolveArguments(
    t.trainerArgs as Partial<TrainingArguments>,
    sizesOf(ckpt.config).max_position_embeddings,
  );
  if (t.dataPosition === null || t.dataPosition === undefined) {
    throw new Error('the checkpoint has no data position, so training cannot resume exactly');
  }
  const problem = batchPositionProblem(t.dataPosition);
  if (problem) throw fail(`data_position${problem}`);
  const pos = t.dataPosition as BatchPosition;
  if (!Number.isInteger(t.step)) throw fail(`step must be a whole number, got ${t.step}`);
  const rng = (t.rngState ?? {}) as { optimizer_step?: unknown; loss_scaler?: unknown };
  const upToStep = (value: unknown, what: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > t.step)
      throw fail(`${what} must be a whole number from 0 to the step (${t.step}), got ${JSON.stringify(value)}`);
    return value;
  };
  const optimizerStep =
    rng.optimizer_step === undefined ? t.step : upToStep(rng.optimizer_step, 'rng_state.optimizer_step');
  const lossScale = rng.loss_scaler === undefined ? undefined : checkLossScale(rng.loss_scaler, upToStep, fail);
  const toArrays = (m: NamedTensors) => new Map([...m].map(([n, x]) => [n, x.data]));
  return {
    args,
    state: {
      step: t.step,
      epoch: t.epoch,
      dataPosition: pos,
      logHistory: t.lossHistory as unknown as (LogEntry | EvalResult)[],
      bestEvalLoss: t.bestEvalLoss,
      lastEvalLoss: t.evalLoss ?? null,
      ...(lossScale ? { lossScale } : {}),
    },
    optimizer: {
      step: optimizerStep,
      m: toArrays(t.optimizer.expAvg),
      v: toArrays(t.optimizer.expAvgSq),
    },
  };
}

/** The fp16 loss scaler's saved state: a positive finite scale, and counters that the step bounds. */
function checkLossScale(
  raw: unknown,
  upToStep: (value: unknown, what: string) => number,
  fail: (m: string) => Error,
): LossScaleState {
  if (typeof raw !== 'object' || raw === null) throw fail('rng_state.loss_scaler must be an object');
  const s = raw as Record<string, unknown>;
  for (const key of ['scale', 'invScaleUsed'] as const) {
    const v = s[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw fail(`rng_state.loss_scaler.${key} must be a positive number, got ${JSON.stringify(v)}`);
  }
  if (typeof s.foundInf !== 'boolean') throw fail('rng_state.loss_scaler.foundInf must be true or false');
  for (const key of ['appliedSteps', 'skippedSteps', 'growthTracker'] as const)
    upToStep(s[key], `rng_state.loss_scaler.${key}`);
  return s as unknown as LossScaleState;
}
