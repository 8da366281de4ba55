// The generation controls under Hugging Face's generate() names, with the values of the project's own example
// (do_sample, top_k 50, temperature 0.7, three samples) as defaults, read and checked as the user types. With
// do_sample off, num_beams > 1 runs beam search.

export interface GenerationOptions {
  max_new_tokens: number;
  do_sample: boolean;
  temperature: number;
  top_k: number;
  top_p: number;
  repetition_penalty: number;
  num_return_sequences: number;
  num_beams: number;
  /** null: a fresh seed each time */
  seed: number | null;
}

export type GenName = keyof GenerationOptions;

export interface GenFieldSpec {
  name: Exclude<GenName, 'do_sample'>;
  help: string;
  /** null when the value is fine, else what is wrong with it */
  check: (v: number) => string | null;
  integer: boolean;
  optional?: boolean;
}

const intAtLeast = (min: number) => (v: number) =>
  Number.isInteger(v) && v >= min ? null : `must be an integer ≥ ${min}`;

export const GEN_FIELDS: GenFieldSpec[] = [
  { name: 'max_new_tokens', integer: true, check: intAtLeast(1), help: 'Tokens to add after the prompt.' },
  {
    name: 'temperature',
    integer: false,
    check: (v) => (v > 0 ? null : 'must be > 0'),
    help: 'Below 1 sharpens the choice, above 1 flattens it.',
  },
  { name: 'top_k', integer: true, check: intAtLeast(0), help: 'Sample from the k likeliest tokens; 0 turns it off.' },
  {
    name: 'top_p',
    integer: false,
    check: (v) => (v > 0 && v <= 1 ? null : 'must be > 0 and ≤ 1'),
    help: 'Sample from the likeliest tokens covering this probability.',
  },
  {
    name: 'repetition_penalty',
    integer: false,
    check: (v) => (v > 0 ? null : 'must be > 0'),
    help: 'Above 1 makes tokens already used less likely.',
  },
  {
    name: 'num_return_sequences',
    integer: true,
    check: intAtLeast(1),
    help: 'Samples side by side, run as one batch; with beams, the best beams (at most num_beams).',
  },
  {
    name: 'num_beams',
    integer: true,
    check: intAtLeast(1),
    help: 'Beam search over this many beams when above 1: the likeliest whole continuations, not one token at a time.',
  },
  {
    name: 'seed',
    integer: true,
    optional: true,
    check: intAtLeast(0),
    help: 'Same seed, same samples; empty for new ones each time.',
  },
];

export const DEFAULT_GENERATION: GenerationOptions = {
  max_new_tokens: 50,
  do_sample: true,
  temperature: 0.7,
  top_k: 50,
  top_p: 1,
  repetition_penalty: 1,
  num_return_sequences: 3,
  num_beams: 1,
  seed: null,
};

export type GenText = Record<Exclude<GenName, 'do_sample'>, string>;

export function defaultGenText(): GenText {
  const out = {} as GenText;
  for (const f of GEN_FIELDS)
    out[f.name] = DEFAULT_GENERATION[f.name] === null ? '' : String(DEFAULT_GENERATION[f.name]);
  return out;
}

export function parseGeneration(
  text: GenText,
  doSample: boolean,
): { options: GenerationOptions; problems: Map<GenName, string> } {
  const options: GenerationOptions = { ...DEFAULT_GENERATION, do_sample: doSample };
  const problems = new Map<GenName, string>();
  for (const f of GEN_FIELDS) {
    const raw = text[f.name].trim();
    if (raw === '' && f.optional) {
      (options as unknown as Record<string, unknown>)[f.name] = null;
      continue;
    }
    const v = raw === '' ? NaN : Number(raw);
    const problem = !Number.isFinite(v) ? (raw === '' ? 'needs a value' : `'${raw}' is not a number`) : f.check(v);
    if (problem) problems.set(f.name, problem);
    (options as unknown as Record<string, unknown>)[f.name] = v;
  }
  return { options, problems };
}
