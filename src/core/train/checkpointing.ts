// Between the trainer's snapshots and the checkpoint format: a snapshot becomes a Hugging Face checkpoint
// with Hearth's training state beside it, and a checkpoint gives back what an exact resume needs.
import type { HearthCheckpoint } from '../checkpoint/hf_folder.ts';
import { sizesOf, type ModelConfig } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { BatchPosition } from '../data/batches.ts';
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
    tokenizer: { 'tokenizer.json': tokenizer.toTokenizerJson() },
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

/** What the trainer needs to continue exactly where the checkpoint was saved; null when it holds no training state. */
export function resumePointOf(ckpt: HearthCheckpoint): ResumePoint | null {
  const t = ckpt.training;
  if (!t || !t.optimizer) return null;
  const args = resolveArguments(
    t.trainerArgs as Partial<TrainingArguments>,
    sizesOf(ckpt.config).max_position_embeddings,
  );
  const pos = t.dataPosition as BatchPosition | null;
  if (!pos || typeof pos.seed !== 'number' || typeof pos.epoch !== 'number' || typeof pos.index !== 'number') {
    throw new Error('the checkpoint has no data position, so training cannot resume exactly');
  }
  const rng = t.rngState as { optimizer_step?: number; loss_scaler?: LossScaleState } | null;
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
      ...(rng?.loss_scaler ? { lossScale: rng.loss_scaler } : {}),
    },
    optimizer: {
      step: rng?.optimizer_step ?? t.step,
      m: toArrays(t.optimizer.expAvg),
      v: toArrays(t.optimizer.expAvgSq),
    },
  };
}
