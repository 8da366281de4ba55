// Hugging Face TrainingArguments, under their own names and with their defaults, plus block_size (TextDataset's),
// with validation that names the argument at fault.
import { SCHEDULER_TYPES, type SchedulerType } from './schedule.ts';

export interface TrainingArguments {
  num_train_epochs: number;
  /** > 0 overrides num_train_epochs */
  max_steps: number;
  per_device_train_batch_size: number;
  per_device_eval_batch_size: number;
  gradient_accumulation_steps: number;
  learning_rate: number;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  max_grad_norm: number;
  warmup_steps: number;
  warmup_ratio: number;
  lr_scheduler_type: SchedulerType;
  logging_steps: number;
  eval_strategy: 'no' | 'steps' | 'epoch';
  /** null: logging_steps, as in HF */
  eval_steps: number | null;
  save_strategy: 'no' | 'steps' | 'epoch';
  save_steps: number;
  /** null: keep every checkpoint */
  save_total_limit: number | null;
  load_best_model_at_end: boolean;
  seed: number;
  /** recompute each block's activations in the backward pass: less memory, about a third more compute */
  gradient_checkpointing: boolean;
  /**
   * mixed precision: matmuls and attention read f16 operands (accumulating in f32), weights and AdamW moments stay
   * f32, with dynamic loss scaling. Works on every adapter: f16 is stored packed two per u32, so `shader-f16` is
   * not needed. Off by default, as in Hugging Face.
   */
  fp16: boolean;
  /** tokens per training example; must not exceed the model's n_positions */
  block_size: number;
}

export const DEFAULT_TRAINING_ARGUMENTS: TrainingArguments = {
  num_train_epochs: 3,
  max_steps: -1,
  per_device_train_batch_size: 8,
  per_device_eval_batch_size: 8,
  gradient_accumulation_steps: 1,
  learning_rate: 5e-5,
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  max_grad_norm: 1,
  warmup_steps: 0,
  warmup_ratio: 0,
  lr_scheduler_type: 'linear',
  logging_steps: 500,
  eval_strategy: 'no',
  eval_steps: null,
  save_strategy: 'steps',
  save_steps: 500,
  save_total_limit: null,
  load_best_model_at_end: false,
  seed: 42,
  gradient_checkpointing: false,
  fp16: false,
  block_size: 128,
};

export class ArgumentError extends Error {
  constructor(
    readonly argument: keyof TrainingArguments,
    message: string,
  ) {
    super(`${argument}: ${message}`);
    this.name = 'ArgumentError';
  }
}

type Check = [keyof TrainingArguments, (v: never) => string | null];
const int = (min: number) => (v: number) =>
  Number.isInteger(v) && v >= min ? null : `must be an integer ≥ ${min}, got ${v}`;
const num =
  (min: number, max = Infinity, openMin = false) =>
  (v: number) =>
    Number.isFinite(v) && (openMin ? v > min : v >= min) && v <= max
      ? null
      : `must be a number ${openMin ? '>' : '≥'} ${min}${max < Infinity ? ` and ≤ ${max}` : ''}, got ${v}`;
const oneOf = (xs: readonly string[]) => (v: string) =>
  xs.includes(v) ? null : `must be one of ${xs.join(', ')}, got '${v}'`;

const CHECKS: Check[] = [
  ['num_train_epochs', num(0, Infinity, true)],
  [
    'max_steps',
    (v: number) =>
      Number.isInteger(v) && (v === -1 || v > 0) ? null : `must be -1 (use epochs) or a positive integer, got ${v}`,
  ],
  ['per_device_train_batch_size', int(1)],
  ['per_device_eval_batch_size', int(1)],
  ['gradient_accumulation_steps', int(1)],
  ['learning_rate', num(0, Infinity, true)],
  ['weight_decay', num(0)],
  ['adam_beta1', num(0, 0.999999)],
  ['adam_beta2', num(0, 0.999999)],
  ['adam_epsilon', num(0, Infinity, true)],
  ['max_grad_norm', num(0)],
  ['warmup_steps', int(0)],
  ['warmup_ratio', num(0, 1)],
  ['lr_scheduler_type', oneOf(SCHEDULER_TYPES)],
  ['logging_steps', int(1)],
  ['eval_strategy', oneOf(['no', 'steps', 'epoch'])],
  ['eval_steps', (v: number | null) => (v === null ? null : int(1)(v))],
  ['save_strategy', oneOf(['no', 'steps', 'epoch'])],
  ['save_steps', int(1)],
  ['save_total_limit', (v: number | null) => (v === null ? null : int(1)(v))],
  ['seed', int(0)],
  [
    'load_best_model_at_end',
    (v: unknown) => (typeof v === 'boolean' ? null : `must be true or false, got ${JSON.stringify(v)}`),
  ],
  ['fp16', (v: unknown) => (typeof v === 'boolean' ? null : `must be true or false, got ${JSON.stringify(v)}`)],
  ['block_size', int(2)],
];

/**
 * Hugging Face's checks: the best model is a saved checkpoint whose step was evaluated, so saving and evaluation
 * must follow the same strategy, and with 'steps' every save must fall on an evaluation.
 */
function loadBestModelProblem(a: TrainingArguments): string | null {
  if (a.load_best_model_at_end !== true) return null;
  if (a.eval_strategy !== a.save_strategy) {
    return `requires the save and eval strategy to match, but found eval_strategy '${a.eval_strategy}' and save_strategy '${a.save_strategy}'`;
  }
  const evalSteps = a.eval_steps ?? a.logging_steps;
  if (
    a.eval_strategy === 'steps' &&
    Number.isInteger(a.save_steps) &&
    Number.isInteger(evalSteps) &&
    a.save_steps % evalSteps !== 0
  ) {
    return `requires save_steps to be a round multiple of eval_steps, but found ${a.save_steps}, which is not a round multiple of ${evalSteps}`;
  }
  return null;
}

/** Every problem with the arguments, by argument; empty when they are valid. */
export function argumentProblems(args: TrainingArguments, nPositions?: number): Map<keyof TrainingArguments, string> {
  const out = new Map<keyof TrainingArguments, string>();
  for (const [name, check] of CHECKS) {
    const msg = (check as (v: unknown) => string | null)(args[name]);
    if (msg) out.set(name, msg);
  }
  const best = loadBestModelProblem(args);
  if (best) out.set('load_best_model_at_end', best);
  if (!out.has('block_size') && nPositions !== undefined && args.block_size > nPositions) {
    out.set('block_size', `must not exceed the model's n_positions (${nPositions}), got ${args.block_size}`);
  }
  return out;
}

/** Defaults filled in, then validated; throws ArgumentError naming the first bad argument. */
export function resolveArguments(partial: Partial<TrainingArguments>, nPositions?: number): TrainingArguments {
  const unknown = Object.keys(partial).filter((k) => !(k in DEFAULT_TRAINING_ARGUMENTS));
  if (unknown.length)
    throw new Error(`unknown training argument${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  const args = { ...DEFAULT_TRAINING_ARGUMENTS, ...partial };
  const problems = argumentProblems(args, nPositions);
  for (const [name, msg] of problems) throw new ArgumentError(name, msg);
  return args;
}
