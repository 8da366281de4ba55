// GPT-2's parameter names and shapes, and the mapping from what Hugging Face files hold (optional
// "transformer." prefix, attention-mask buffers, a tied lm_head) to Hearth's names.
import type { GPT2Config } from './config.ts';
import { parameterCount, parameterShapes } from '../model/config.ts';
import { invalid } from './errors.ts';
import { bitwiseEqual, firstNonFinite, formatShape, sameShape, type NamedTensors } from './tensors.ts';

/** Every parameter of the model, in the order GPT-2 lists them, with its shape (Conv1D: [in, out]). */
export function gpt2ParameterShapes(c: GPT2Config): Map<string, number[]> {
  return new Map(parameterShapes(c));
}

export { parameterCount };

const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;
const PREFIX = 'transformer.';
export const LM_HEAD = 'lm_head.weight';

/**
 * Hearth's name for a tensor name found in a Hugging Face file: the prefix dropped, `null` for the
 * causal-mask buffers (constants the model rebuilds), and lm_head kept as LM_HEAD for the tie check.
 */
export function hearthName(fileName: string): string | null {
  const name = fileName.startsWith(PREFIX) ? fileName.slice(PREFIX.length) : fileName;
  if (MASK_BUFFER.test(name)) return null;
  return name;
}

/** Checks the names and shapes listed in a file against the config before any tensor is decoded. */
export function checkWeightIndex(names: Iterable<[string, number[]]>, c: GPT2Config, fileName: string): void {
  const expected = gpt2ParameterShapes(c);
  const seen = new Map<string, string>();
  const unknown: string[] = [];
  for (const [fileTensor, shape] of names) {
    const name = hearthName(fileTensor);
    if (name === null) continue;
    if (seen.has(name)) {
      throw invalid(`${fileName}: "${seen.get(name)}" and "${fileTensor}" are the same parameter (${name}) twice`);
    }
    seen.set(name, fileTensor);
    if (name === LM_HEAD) {
      if (!sameShape(shape, [c.vocab_size, c.n_embd])) {
        throw invalid(
          `${fileName}: tensor "${fileTensor}" has shape ${formatShape(shape)}; config.json implies ${formatShape([c.vocab_size, c.n_embd])}`,
        );
      }
      continue;
    }
    const want = expected.get(name);
    if (!want) {
      unknown.push(fileTensor);
      continue;
    }
    if (!sameShape(shape, want)) {
      throw invalid(
        `${fileName}: tensor "${fileTensor}" has shape ${formatShape(shape)} but config.json implies ${formatShape(want)} (wrong shape)`,
      );
    }
  }
  if (unknown.length > 0) {
    throw invalid(
      `${fileName}: tensor${unknown.length > 1 ? 's' : ''} ${unknown
        .slice(0, 3)
        .map((n) => `"${n}"`)
        .join(', ')}${unknown.length > 3 ? ` and ${unknown.length - 3} more` : ''} ` +
        `are not GPT-2 parameters (is this a plain GPT-2 model, with n_layer matching config.json?)`,
    );
  }
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0) {
    throw invalid(
      `${fileName}: missing tensor "${missing[0]}"${missing.length > 1 ? ` and ${missing.length - 1} more` : ''} that config.json implies`,
    );
  }
}

/**
 * Renames decoded tensors to Hearth's names in GPT-2's order, dropping lm_head when it is the tie
 * (bitwise equal to wte) and refusing it otherwise: Hearth cannot run an untied head.
 */
export function toHearthWeights(decoded: NamedTensors, c: GPT2Config, fileName: string): NamedTensors {
  const byName: NamedTensors = new Map();
  for (const [fileTensor, t] of decoded) {
    const name = hearthName(fileTensor);
    if (name !== null) byName.set(name, t);
  }
  const out: NamedTensors = new Map();
  for (const name of gpt2ParameterShapes(c).keys()) out.set(name, byName.get(name)!);
  const head = byName.get(LM_HEAD);
  if (head && !bitwiseEqual(head, out.get('wte.weight')!)) {
    throw invalid(
      `${fileName}: lm_head.weight differs from wte.weight; Hearth ties the output head to the token embedding and cannot load an untied head`,
    );
  }
  return out;
}

/** For saving: the weights must be exactly GPT-2's parameters for this config, all finite. */
export function checkHearthWeights(weights: NamedTensors, c: GPT2Config): void {
  const expected = gpt2ParameterShapes(c);
  for (const [name, shape] of expected) {
    const t = weights.get(name);
    if (!t) throw new Error(`cannot save: the model has no parameter "${name}"`);
    if (!sameShape(t.shape, shape) || t.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new Error(
        `cannot save: parameter "${name}" has shape ${formatShape(t.shape)} (${t.data.length} values), config implies ${formatShape(shape)}`,
      );
    }
    const bad = firstNonFinite(t.data);
    if (bad >= 0)
      throw new Error(`cannot save: parameter "${name}" holds ${t.data[bad]} at element ${bad} (training diverged?)`);
  }
  for (const name of weights.keys()) {
    if (!expected.has(name)) throw new Error(`cannot save: "${name}" is not a GPT-2 parameter`);
  }
}
