// How each Hugging Face training argument appears in the form: its group, the kind of input and a short help
// line. Defaults and validation are the core's (src/core/train/args.ts), so the form and the CLI agree.
import { DEFAULT_TRAINING_ARGUMENTS, argumentProblems, type TrainingArguments } from '../core/train/args.ts';
import { SCHEDULER_TYPES } from '../core/train/schedule.ts';

export type ArgName = keyof TrainingArguments;

export type FieldKind =
  | { type: 'integer'; optional?: boolean }
  | { type: 'number' }
  | { type: 'choice'; choices: readonly string[] }
  | { type: 'boolean' }
  /** free text (a list of names), with what an empty field means as its placeholder */
  | { type: 'text'; placeholder?: string };

export interface FieldSpec {
  name: ArgName;
  kind: FieldKind;
  help: string;
}

export interface FieldGroup {
  id: string;
  title: string;
  /** shown open on first view */
  open: boolean;
  fields: FieldSpec[];
}

const int: FieldKind = { type: 'integer' };
const optionalInt: FieldKind = { type: 'integer', optional: true };
const num: FieldKind = { type: 'number' };

export const FIELD_GROUPS: FieldGroup[] = [
  {
    id: 'run',
    title: 'Length, batch and learning rate',
    open: true,
    fields: [
      { name: 'num_train_epochs', kind: num, help: 'Passes over the training data (fractions allowed).' },
      { name: 'max_steps', kind: int, help: 'Optimizer steps to run; overrides epochs. -1 trains by epochs.' },
      { name: 'per_device_train_batch_size', kind: int, help: 'Examples in each forward and backward pass.' },
      {
        name: 'gradient_accumulation_steps',
        kind: int,
        help: 'Passes summed before each optimizer step: the effective batch is batch × this.',
      },
      { name: 'block_size', kind: int, help: "Tokens per example; at most the model's n_positions." },
      { name: 'learning_rate', kind: num, help: 'Peak AdamW step size, reached after warmup.' },
      {
        name: 'lr_scheduler_type',
        kind: { type: 'choice', choices: SCHEDULER_TYPES },
        help: 'How the rate moves over the run.',
      },
      { name: 'warmup_steps', kind: int, help: 'Steps of linear warmup from 0; wins over warmup_ratio.' },
      { name: 'warmup_ratio', kind: num, help: 'Warmup as a fraction of all steps, used when warmup_steps is 0.' },
    ],
  },
  {
    id: 'optimizer',
    title: 'Optimizer (AdamW)',
    open: false,
    fields: [
      { name: 'weight_decay', kind: num, help: 'Decoupled decay of weight matrices (not biases or LayerNorm).' },
      { name: 'adam_beta1', kind: num, help: "Decay of AdamW's running mean of gradients." },
      { name: 'adam_beta2', kind: num, help: "Decay of AdamW's running mean of squared gradients." },
      { name: 'adam_epsilon', kind: num, help: "Added to AdamW's denominator, for stability." },
      { name: 'max_grad_norm', kind: num, help: "Clip the gradients' global norm to this; 0 turns clipping off." },
    ],
  },
  {
    id: 'logging',
    title: 'Logging, evaluation and saving',
    open: false,
    fields: [
      { name: 'logging_steps', kind: int, help: 'Report the loss every this many optimizer steps.' },
      {
        name: 'eval_strategy',
        kind: { type: 'choice', choices: ['no', 'steps', 'epoch'] },
        help: 'When to measure eval loss.',
      },
      { name: 'eval_steps', kind: optionalInt, help: 'Steps between evaluations; empty means logging_steps.' },
      { name: 'per_device_eval_batch_size', kind: int, help: 'Examples in each evaluation pass.' },
      {
        name: 'save_strategy',
        kind: { type: 'choice', choices: ['no', 'steps', 'epoch'] },
        help: 'When to save a checkpoint.',
      },
      { name: 'save_steps', kind: int, help: 'Steps between checkpoints.' },
      {
        name: 'save_total_limit',
        kind: optionalInt,
        help: 'Keep at most this many checkpoints; empty keeps them all.',
      },
      {
        name: 'load_best_model_at_end',
        kind: { type: 'boolean' },
        help: 'When training finishes, load the weights of the checkpoint with the lowest eval loss (kept even past save_total_limit), so evaluation, generation and export use them. Needs eval_strategy equal to save_strategy (and save_steps a multiple of eval_steps).',
      },
      { name: 'seed', kind: int, help: 'Seed for the initial weights and the data order.' },
    ],
  },
  {
    id: 'memory',
    title: 'Memory and speed',
    open: false,
    fields: [
      {
        name: 'gradient_checkpointing',
        kind: { type: 'boolean' },
        help: 'Recompute each block in the backward pass: less memory, about a third more compute.',
      },
      {
        name: 'fp16',
        kind: { type: 'boolean' },
        help: 'Matmuls and attention read half-precision operands, with dynamic loss scaling; weights stay float32.',
      },
    ],
  },
];

export const ALL_FIELDS: FieldSpec[] = FIELD_GROUPS.flatMap((g) => g.fields);

/** The form's text for a value, as a person would type it (5e-5, not 0.00005). */
export function valueToText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && value !== 0 && Math.abs(value) < 1e-3) {
    return value.toExponential();
  }
  return String(value);
}

export type FormText = Record<ArgName, string>;

export function defaultText(): FormText {
  const out = {} as FormText;
  for (const f of ALL_FIELDS) out[f.name] = valueToText(DEFAULT_TRAINING_ARGUMENTS[f.name]);
  return out;
}

export interface ParsedForm {
  args: TrainingArguments;
  /** one message per argument at fault, for its field */
  problems: Map<ArgName, string>;
}

/** Reads the form's text; what does not parse is reported as such, the rest is checked by the core. */
export function parseForm(text: FormText, nPositions: number): ParsedForm {
  const parsed: Record<string, unknown> = { ...DEFAULT_TRAINING_ARGUMENTS };
  const unreadable = new Map<ArgName, string>();
  for (const { name, kind } of ALL_FIELDS) {
    const raw = (text[name] ?? '').trim();
    if (kind.type === 'choice') parsed[name] = raw;
    else if (kind.type === 'boolean') parsed[name] = raw === 'true';
    else if (raw === '' && kind.type === 'integer' && kind.optional) parsed[name] = null;
    else {
      const v = raw === '' ? NaN : Number(raw);
      if (!Number.isFinite(v)) unreadable.set(name, raw === '' ? 'needs a value' : `'${raw}' is not a number`);
      parsed[name] = v;
    }
  }
  const args = parsed as unknown as TrainingArguments;
  const problems = argumentProblems(args, nPositions);
  for (const [name, msg] of unreadable) problems.set(name, msg);
  return { args, problems };
}
