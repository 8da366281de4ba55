// A checkpoint as the files of a Hugging Face model folder (config.json, model.safetensors,
// tokenizer files, generation_config.json) plus Hearth's training state beside them. Every way a
// checkpoint travels (IndexedDB, zip, dropped files, the Hub, a folder on disk) goes through these
// two functions, so every one of them gets the same checks.
import { modelConfigToJson, type ModelConfig } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import { defaultGenerationConfig, readModelConfig, type GenerationConfig } from './config.ts';
import { CheckpointError, invalid } from './errors.ts';
import { checkHearthWeights, checkWeightIndex, hearthName, hfFileName, toHearthWeights } from './weights.ts';
import { parseSafetensorsHeader, readSafetensors, writeSafetensors } from './safetensors.ts';
import {
  OPTIMIZER_FILE,
  STATE_FILE,
  trainingStateFromFiles,
  trainingStateToFiles,
  type TrainingState,
} from './training_state.ts';

/** File name (no folders) to contents. */
export type CheckpointFiles = Map<string, Uint8Array>;

/** Tokenizer files as text, kept opaque here: tokenizer.json, or vocab.json + merges.txt, and friends. */
export type TokenizerFiles = Partial<Record<(typeof TOKENIZER_FILES)[number], string>>;
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'vocab.json',
  'merges.txt',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
] as const;

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const GENERATION_CONFIG_FILE = 'generation_config.json';

export interface HearthCheckpoint {
  config: ModelConfig;
  /** Hearth's parameter names (the family's without the base model's prefix; a tied head has none), float32. */
  weights: NamedTensors;
  tokenizer: TokenizerFiles;
  generationConfig?: GenerationConfig;
  /** Present when the checkpoint can resume training. */
  training?: TrainingState;
}

export interface ToFilesOptions {
  /** F16 halves model.safetensors for sharing; resuming exactly needs F32 (the default). */
  weightsDtype?: 'F32' | 'F16';
}

const encoder = new TextEncoder();

export function checkpointToFiles(ckpt: HearthCheckpoint, options: ToFilesOptions = {}): CheckpointFiles {
  checkHearthWeights(ckpt.weights, ckpt.config);
  if (!ckpt.tokenizer['tokenizer.json'] && !(ckpt.tokenizer['vocab.json'] && ckpt.tokenizer['merges.txt'])) {
    throw new Error('cannot save: the checkpoint has no tokenizer (tokenizer.json, or vocab.json and merges.txt)');
  }
  const files: CheckpointFiles = new Map();
  files.set(CONFIG_FILE, encoder.encode(modelConfigToJson(ckpt.config)));
  const generation = ckpt.generationConfig ?? defaultGenerationConfig(ckpt.config);
  files.set(GENERATION_CONFIG_FILE, encoder.encode(JSON.stringify(generation, null, 2) + '\n'));
  // HF's loader checks format "pt" in the metadata before it reads a safetensors file.
  const named: NamedTensors = new Map([...ckpt.weights].map(([n, t]) => [hfFileName(n, ckpt.config), t]));
  files.set(
    WEIGHTS_FILE,
    writeSafetensors(named, { dtype: options.weightsDtype ?? 'F32', metadata: { format: 'pt' } }),
  );
  for (const name of TOKENIZER_FILES) {
    const text = ckpt.tokenizer[name];
    if (text !== undefined) files.set(name, encoder.encode(text));
  }
  if (ckpt.training)
    for (const [name, bytes] of trainingStateToFiles(ckpt.training, ckpt.weights)) files.set(name, bytes);
  return files;
}

/** Reads and checks a whole checkpoint; throws CheckpointError with a message fit for the user. */
export function checkpointFromFiles(files: CheckpointFiles): HearthCheckpoint {
  const configBytes = files.get(CONFIG_FILE);
  if (!configBytes) throw new CheckpointError('missing-file', 'no config.json: not a Hugging Face model folder');
  const config = readModelConfig(text(configBytes, CONFIG_FILE));

  const weightBytes = files.get(WEIGHTS_FILE);
  if (!weightBytes) {
    const hint = files.has('pytorch_model.bin')
      ? ' (there is a pytorch_model.bin: Hearth reads only safetensors, since PyTorch pickles can run code; convert it with the safetensors tools or save_pretrained(safe_serialization=True))'
      : '';
    throw new CheckpointError('missing-file', `no model.safetensors${hint}`);
  }
  const index = parseSafetensorsHeader(weightBytes, WEIGHTS_FILE);
  checkWeightIndex(
    index.entries.map((e) => [e.name, e.shape]),
    config,
    WEIGHTS_FILE,
  );
  const { tensors } = readSafetensors(weightBytes, {
    fileName: WEIGHTS_FILE,
    skip: (n) => hearthName(n, config) === null,
  });
  const weights = toHearthWeights(tensors, config, WEIGHTS_FILE);

  const tokenizer: TokenizerFiles = {};
  for (const name of TOKENIZER_FILES) {
    const bytes = files.get(name);
    if (bytes) tokenizer[name] = text(bytes, name);
  }
  if (!tokenizer['tokenizer.json'] && !(tokenizer['vocab.json'] && tokenizer['merges.txt'])) {
    throw new CheckpointError('missing-file', 'no tokenizer: expected tokenizer.json, or vocab.json and merges.txt');
  }
  for (const name of ['tokenizer.json', 'vocab.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const) {
    if (tokenizer[name] !== undefined) jsonObject(tokenizer[name]!, name);
  }

  const ckpt: HearthCheckpoint = { config, weights, tokenizer };
  const generation = files.get(GENERATION_CONFIG_FILE);
  if (generation) ckpt.generationConfig = jsonObject(text(generation, GENERATION_CONFIG_FILE), GENERATION_CONFIG_FILE);
  const state = files.get(STATE_FILE);
  if (state) ckpt.training = trainingStateFromFiles(state, files.get(OPTIMIZER_FILE), weights);
  return ckpt;
}

/**
 * Turns paths from a zip or a drop (maybe inside one folder) into a flat file map. Hidden files and
 * macOS's __MACOSX copies are ignored; two files with one name (say two checkpoints in one
 * archive) are refused rather than silently picking one.
 */
export function flattenFolder(entries: Iterable<[string, Uint8Array]>): CheckpointFiles {
  const files: CheckpointFiles = new Map();
  const from = new Map<string, string>();
  for (const [path, bytes] of entries) {
    const parts = path.split(/[\\/]/).filter((p) => p.length > 0);
    const base = parts.at(-1);
    if (!base || base.startsWith('.') || parts[0] === '__MACOSX') continue;
    if (files.has(base)) {
      throw invalid(`two files named ${base} ("${from.get(base)}" and "${path}"): give one checkpoint at a time`);
    }
    files.set(base, bytes);
    from.set(base, path);
  }
  return files;
}

function text(bytes: Uint8Array, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`${name} is not UTF-8 text`);
  }
}

function jsonObject(source: string, name: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(source);
  } catch (e) {
    throw invalid(`${name} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${name} must hold a JSON object`);
  return v as Record<string, unknown>;
}

/** Total bytes of a file map (for quota checks and progress). */
export function totalBytes(files: CheckpointFiles): number {
  let n = 0;
  for (const b of files.values()) n += b.byteLength;
  return n;
}
