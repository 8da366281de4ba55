// Hearth's training state, kept beside the Hugging Face folder (hearth_state.json and
// optimizer.safetensors) so an exported checkpoint resumes exactly: same step, same data position,
// same random stream, same AdamW moments. Hugging Face tools ignore these two files.
import { invalid } from './errors.ts';
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import type { HostTensor, NamedTensors } from '../model/host_tensors.ts';
import { firstNonFinite, formatShape, sameShape } from './tensors.ts';

export const STATE_FILE = 'hearth_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FORMAT = 'hearth-training-state';
export const STATE_VERSION = 1;

/** One row of the loss curve; the trainer decides which metrics it records. */
export interface LossPoint {
  step: number;
  [metric: string]: number;
}

export interface AdamWMoments {
  /** First moment per parameter name. */
  expAvg: NamedTensors;
  /** Second moment per parameter name. */
  expAvgSq: NamedTensors;
}

export interface TrainingState {
  step: number;
  epoch: number;
  /** The trainer's arguments as it records them (HF TrainingArguments names where they exist). */
  trainerArgs: Record<string, unknown>;
  /** Where the data loader stands (opaque JSON the data code gives and takes back). */
  dataPosition: unknown;
  /** The random generators' state (opaque JSON). */
  rngState: unknown;
  lossHistory: LossPoint[];
  bestEvalLoss: number | null;
  /** Eval loss measured at this checkpoint's step, if it was evaluated (for keep-best rotation). */
  evalLoss?: number | null;
  optimizer: AdamWMoments | null;
}

interface StateJson {
  format: string;
  version: number;
  step: number;
  epoch: number;
  trainer_args: Record<string, unknown>;
  data_position: unknown;
  rng_state: unknown;
  loss_history: LossPoint[];
  best_eval_loss: number | null;
  eval_loss: number | null;
  optimizer: { type: 'adamw'; file: string } | null;
}

const EXP_AVG = 'exp_avg.';
const EXP_AVG_SQ = 'exp_avg_sq.';

export function trainingStateToFiles(state: TrainingState, weights: NamedTensors): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const json: StateJson = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    step: state.step,
    epoch: state.epoch,
    trainer_args: state.trainerArgs,
    data_position: state.dataPosition ?? null,
    rng_state: state.rngState ?? null,
    loss_history: state.lossHistory,
    best_eval_loss: state.bestEvalLoss,
    eval_loss: state.evalLoss ?? null,
    optimizer: state.optimizer ? { type: 'adamw', file: OPTIMIZER_FILE } : null,
  };
  files.set(STATE_FILE, new TextEncoder().encode(JSON.stringify(json, null, 1) + '\n'));
  if (state.optimizer) {
    checkMoments(state.optimizer, weights, (m) => new Error(`cannot save: ${m}`));
    const entries: [string, HostTensor][] = [];
    for (const name of weights.keys()) entries.push([EXP_AVG + name, state.optimizer.expAvg.get(name)!]);
    for (const name of weights.keys()) entries.push([EXP_AVG_SQ + name, state.optimizer.expAvgSq.get(name)!]);
    // Always float32: halving the moments would break the exact resume.
    files.set(OPTIMIZER_FILE, writeSafetensors(entries, { dtype: 'F32', metadata: { format: 'hearth-adamw' } }));
  }
  return files;
}

/** Reads and checks hearth_state.json (+ optimizer.safetensors) against the loaded weights. */
export function trainingStateFromFiles(
  stateBytes: Uint8Array,
  optimizerBytes: Uint8Array | undefined,
  weights: NamedTensors,
): TrainingState {
  const fail = (m: string) => invalid(`${STATE_FILE}: ${m}`);
  let raw: Partial<StateJson>;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(stateBytes));
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || raw.format !== STATE_FORMAT) throw fail('not a Hearth training state');
  if (typeof raw.version !== 'number' || raw.version > STATE_VERSION) {
    throw fail(`format version ${raw.version} was written by a newer Hearth; this one reads version ${STATE_VERSION}`);
  }
  const count = (key: 'step' | 'epoch') => {
    const v = raw[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fail(`${key} must be a non-negative number`);
    if (key === 'step' && !Number.isInteger(v)) throw fail(`step must be a whole number, got ${v}`);
    return v;
  };
  const step = count('step');
  const epoch = count('epoch');
  if (!Array.isArray(raw.loss_history)) throw fail('loss_history must be a list');
  for (const key of ['best_eval_loss', 'eval_loss'] as const) {
    const v = raw[key];
    if (v !== undefined && v !== null && typeof v !== 'number') throw fail(`${key} must be a number or null`);
  }
  const trainerArgs = raw.trainer_args ?? {};
  if (typeof trainerArgs !== 'object' || Array.isArray(trainerArgs)) throw fail('trainer_args must be an object');

  let optimizer: AdamWMoments | null = null;
  if (raw.optimizer) {
    if (!optimizerBytes) throw invalid(`${STATE_FILE} refers to ${OPTIMIZER_FILE}, which is missing`);
    // Not-finite values are refused below, with what a moment is rather than as weights.
    const { tensors } = readSafetensors(optimizerBytes, { fileName: OPTIMIZER_FILE, requireFinite: false });
    optimizer = { expAvg: new Map(), expAvgSq: new Map() };
    for (const [name, t] of tensors) {
      if (name.startsWith(EXP_AVG_SQ)) optimizer.expAvgSq.set(name.slice(EXP_AVG_SQ.length), t);
      else if (name.startsWith(EXP_AVG)) optimizer.expAvg.set(name.slice(EXP_AVG.length), t);
      else throw invalid(`${OPTIMIZER_FILE}: tensor "${name}" is neither exp_avg.* nor exp_avg_sq.*`);
    }
    checkMoments(optimizer, weights, (m) => invalid(`${OPTIMIZER_FILE}: ${m}`));
  }
  return {
    step,
    epoch,
    trainerArgs: trainerArgs as Record<string, unknown>,
    dataPosition: raw.data_position ?? null,
    rngState: raw.rng_state ?? null,
    lossHistory: raw.loss_history,
    bestEvalLoss: raw.best_eval_loss ?? null,
    evalLoss: raw.eval_loss ?? null,
    optimizer,
  };
}

/** One moment per parameter, of its shape, holding finite numbers; the second moment, a mean of squares, is ≥ 0. */
function checkMoments(m: AdamWMoments, weights: NamedTensors, fail: (m: string) => Error): void {
  for (const [label, moments] of [
    ['exp_avg', m.expAvg],
    ['exp_avg_sq', m.expAvgSq],
  ] as const) {
    for (const [name, w] of weights) {
      const t = moments.get(name);
      if (!t) throw fail(`no ${label} for parameter "${name}"`);
      if (!sameShape(t.shape, w.shape) || t.data.length !== w.data.length) {
        throw fail(`${label} of "${name}" has shape ${formatShape(t.shape)}, the parameter ${formatShape(w.shape)}`);
      }
      const bad = firstNonFinite(t.data);
      if (bad >= 0) throw fail(`${label} of "${name}" holds ${t.data[bad]} at element ${bad}`);
      if (label === 'exp_avg_sq') {
        const negative = t.data.findIndex((x) => x < 0);
        if (negative >= 0)
          throw fail(
            `exp_avg_sq of "${name}" holds ${t.data[negative]} at element ${negative}; a second moment is a mean of squares and cannot be negative`,
          );
      }
    }
    for (const name of moments.keys())
      if (!weights.has(name)) throw fail(`${label} for "${name}", which is not a parameter`);
  }
}
