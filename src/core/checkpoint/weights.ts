// A model's parameters as Hugging Face files hold them, mapped to Hearth's names: the base model's prefix dropped
// ("transformer." for GPT-2), buffers that are not parameters skipped, a tied head checked against what it is tied
// to. The family (model/families) says which names, shapes and buffers; this file knows no family by itself.
import { familyOf, parameterShapes, sizesOf, type ModelConfig } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import { invalid } from './errors.ts';
import { bitwiseEqual, firstNonFinite, formatShape, sameShape } from './tensors.ts';

/** Every parameter of the model, in its family's order, with its shape. */
export function modelParameterShapes(c: ModelConfig): Map<string, number[]> {
  return new Map(parameterShapes(c));
}

/**
 * Hearth's name for a tensor name found in a Hugging Face file: the prefix dropped, `null` for buffers (constants
 * the model rebuilds), and a tied head kept under its own name for the tie check.
 */
export function hearthName(fileName: string, c: ModelConfig): string | null {
  const { prefix, isBuffer } = familyOf(c).hfWeights;
  const name = fileName.startsWith(prefix) ? fileName.slice(prefix.length) : fileName;
  return isBuffer(name) ? null : name;
}

/** A tensor as a weights file's header lists it: its name in the file, its shape, and the file. */
export interface ListedTensor {
  name: string;
  shape: number[];
  file: string;
}

/**
 * Refuses a config that implies far more parameter tensors than the files hold (over twice as many, and 64 more),
 * with work bounded by the files' own count: a tiny config.json claiming a hundred million layers is refused before
 * anything in proportion to it is built. Nearer counts are left to checkWeightIndex, which names the tensors that
 * differ. Buffers and a tied head are not counted.
 */
export function checkTensorCount(listed: readonly ListedTensor[], c: ModelConfig, source: string): void {
  const family = familyOf(c);
  const shared = new Set([...family.embeddingParameters(c), ...family.headParameters(c)]);
  const tied = family.hfWeights.tiedHead;
  let held = 0;
  for (const t of listed) {
    const name = hearthName(t.name, c);
    if (name !== null && !(name === tied?.name && !shared.has(name))) held++;
  }
  const reach = 2 * held + 64;
  const layers = sizesOf(c).num_hidden_layers;
  let implied = shared.size;
  for (let layer = 0; layer < layers && implied <= reach; layer++) implied += family.blockParameters(c, layer).length;
  if (implied <= reach) return;
  throw invalid(
    `${source}: holds ${held} parameter tensors but config.json's ${layers} layers imply more than ${reach}; the weights do not belong to this config`,
  );
}

/** Checks the names and shapes the files list against the config before any tensor is decoded. */
export function checkWeightIndex(listed: Iterable<ListedTensor>, c: ModelConfig, source: string): void {
  const family = familyOf(c);
  const tied = family.hfWeights.tiedHead;
  const expected = modelParameterShapes(c);
  const seen = new Map<string, string>();
  const unknown: ListedTensor[] = [];
  for (const t of listed) {
    const { name: fileTensor, shape, file } = t;
    const name = hearthName(fileTensor, c);
    if (name === null) continue;
    if (seen.has(name)) {
      throw invalid(`${file}: "${seen.get(name)}" and "${fileTensor}" are the same parameter (${name}) twice`);
    }
    seen.set(name, fileTensor);
    const want = name === tied?.name ? expected.get(tied.tiedTo) : expected.get(name);
    if (!want) {
      unknown.push(t);
      continue;
    }
    if (!sameShape(shape, want)) {
      throw invalid(
        name === tied?.name
          ? `${file}: tensor "${fileTensor}" has shape ${formatShape(shape)}; config.json implies ${formatShape(want)}`
          : `${file}: tensor "${fileTensor}" has shape ${formatShape(shape)} but config.json implies ${formatShape(want)} (wrong shape)`,
      );
    }
  }
  if (unknown.length > 0) {
    throw invalid(
      `${unknown[0].file}: tensor${unknown.length > 1 ? 's' : ''} ${unknown
        .slice(0, 3)
        .map((t) => `"${t.name}"`)
        .join(', ')}${unknown.length > 3 ? ` and ${unknown.length - 3} more` : ''} ` +
        `are not ${family.label} parameters (is this a plain ${family.label} model, with n_layer matching config.json?)`,
    );
  }
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0) {
    throw invalid(
      `${source}: missing tensor "${missing[0]}"${missing.length > 1 ? ` and ${missing.length - 1} more` : ''} that config.json implies`,
    );
  }
}

/**
 * Renames decoded tensors to Hearth's names in the family's order, dropping a tied head when it is the tie (bitwise
 * equal to what it is tied to) and refusing it otherwise: Hearth cannot run an untied head.
 */
export function toHearthWeights(decoded: NamedTensors, c: ModelConfig, fileName: string): NamedTensors {
  const byName: NamedTensors = new Map();
  for (const [fileTensor, t] of decoded) {
    const name = hearthName(fileTensor, c);
    if (name !== null) byName.set(name, t);
  }
  const out: NamedTensors = new Map();
  for (const name of modelParameterShapes(c).keys()) out.set(name, byName.get(name)!);
  const tied = familyOf(c).hfWeights.tiedHead;
  const head = tied && byName.get(tied.name);
  if (tied && head && !bitwiseEqual(head, out.get(tied.tiedTo)!)) {
    throw invalid(
      `${fileName}: ${tied.name} differs from ${tied.tiedTo}; Hearth ties the output head to the token embedding and cannot load an untied head`,
    );
  }
  return out;
}

/** For saving: the weights must be exactly the model's parameters for this config, all finite. */
export function checkHearthWeights(weights: NamedTensors, c: ModelConfig): void {
  const expected = modelParameterShapes(c);
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
    if (!expected.has(name)) throw new Error(`cannot save: "${name}" is not a ${familyOf(c).label} parameter`);
  }
}
