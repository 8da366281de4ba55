// Command-line parsing for `hearth`: a command's own flags plus, for `train`, every TrainingArguments field under
// its Hugging Face name (`--learning_rate 3e-4`, or `--learning-rate 3e-4`).
import type { WeightsDtype } from '../core/checkpoint/safetensors.ts';
import { DEFAULT_TRAINING_ARGUMENTS, type TrainingArguments } from '../core/train/args.ts';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** takes several values (`--data a.txt b.txt`) */
  many?: boolean;
  /** a switch without a value */
  boolean?: boolean;
  /** an empty value means something (an empty prompt); other flags refuse one */
  allowEmpty?: boolean;
}

export interface Parsed {
  flags: Map<string, string[]>;
  switches: Set<string>;
  training: Partial<TrainingArguments>;
}

const normalise = (name: string) => name.replace(/-/g, '_');

/** A flag's true or false (1 or 0 also do). */
function parseBoolean(name: string, raw: string): boolean {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new UsageError(`--${name} takes true or false, got '${raw}'`);
}

function trainingValue(name: keyof TrainingArguments, raw: string): unknown {
  const def = DEFAULT_TRAINING_ARGUMENTS[name];
  if (typeof def === 'string') return raw;
  if (typeof def === 'boolean') return parseBoolean(name, raw);
  if (def === null && (raw === 'none' || raw === 'null')) return null;
  const n = Number(raw);
  if (raw.trim() === '' || Number.isNaN(n)) throw new UsageError(`--${name} takes a number, got '${raw}'`);
  return n;
}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>, acceptTraining: boolean): Parsed {
  const flags = new Map<string, string[]>();
  const switches = new Set<string>();
  const training: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected '${arg}' (flags start with --)`);
    let name = arg.slice(2);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const key = normalise(name);
    const takeValues = (many: boolean, allowEmpty = false): string[] => {
      const values: string[] = [];
      if (inline !== undefined) values.push(inline);
      else
        while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
          values.push(argv[++i]);
          if (!many) break;
        }
      if (values.length === 0) throw new UsageError(`--${name} needs a value`);
      // `--dropout=` or `--out ''` is a slip (an unset shell variable), not a value: it would read as 0 or '.'.
      if (!allowEmpty && values.some((v) => v.trim() === ''))
        throw new UsageError(`--${name} needs a value, got an empty one`);
      return values;
    };
    const own = spec[key];
    if (own) {
      if (own.boolean) switches.add(key);
      else flags.set(key, [...(flags.get(key) ?? []), ...takeValues(!!own.many, !!own.allowEmpty)]);
    } else if (acceptTraining && key in DEFAULT_TRAINING_ARGUMENTS) {
      training[key] = trainingValue(key as keyof TrainingArguments, takeValues(false)[0]);
    } else {
      throw new UsageError(`unknown flag --${name}`);
    }
  }
  return { flags, switches, training: training as Partial<TrainingArguments> };
}

export function one(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  if (v && v.length > 1) throw new UsageError(`--${name} takes one value`);
  return v?.[0];
}

export function boolean(p: Parsed, name: string): boolean | undefined {
  const v = one(p, name);
  return v === undefined ? undefined : parseBoolean(name, v);
}

export function number(p: Parsed, name: string): number | undefined {
  const v = one(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new UsageError(`--${name} takes a number, got '${v}'`);
  return n;
}

/** --dtype's names for safetensors weights, as transformers and PyTorch spell them. */
export const DTYPE_NAMES: Record<string, WeightsDtype> = {
  float32: 'F32',
  f32: 'F32',
  fp32: 'F32',
  bfloat16: 'BF16',
  bf16: 'BF16',
  float16: 'F16',
  f16: 'F16',
  fp16: 'F16',
};
