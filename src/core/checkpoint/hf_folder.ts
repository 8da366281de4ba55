// A checkpoint as the files of a Hugging Face model folder (config.json, model.safetensors,
// tokenizer files, generation_config.json) plus Hearth's training state beside them. Every way a
// checkpoint travels (IndexedDB, zip, dropped files, the Hub, a folder on disk) goes through these
// two functions, so every one of them gets the same checks.
import { familyOf, modelConfigToJson, type ModelConfig } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import { defaultGenerationConfig, readModelConfig, type GenerationConfig } from './config.ts';
import { CheckpointError, invalid } from './errors.ts';
import { checkHearthWeights, checkTensorCount, checkWeightIndex, hearthName, toHearthWeights } from './weights.ts';
import { readSafetensors, TORCH_DTYPES, type WeightsDtype } from './safetensors.ts';
import { WEIGHTS_INDEX_FILE, weightsSources, weightsToFiles } from './shards.ts';
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
export const GENERATION_CONFIG_FILE = 'generation_config.json';

export interface HearthCheckpoint {
  config: ModelConfig;
  /** Hearth's parameter names (no "transformer." prefix, no lm_head), float32. */
  weights: NamedTensors;
  tokenizer: TokenizerFiles;
  generationConfig?: GenerationConfig;
  /** Present when the checkpoint can resume training. */
  training?: TrainingState;
}

export interface ToFilesOptions {
  /** BF16 or F16 halve the weights for sharing; resuming exactly needs F32 (the default). */
  weightsDtype?: WeightsDtype;
  /** Weights above this many bytes are sharded as save_pretrained shards them (default DEFAULT_MAX_SHARD_BYTES). */
  maxShardBytes?: number;
}

const encoder = new TextEncoder();

export function checkpointToFiles(ckpt: HearthCheckpoint, options: ToFilesOptions = {}): CheckpointFiles {
  checkHearthWeights(ckpt.weights, ckpt.config);
  if (!ckpt.tokenizer['tokenizer.json'] && !(ckpt.tokenizer['vocab.json'] && ckpt.tokenizer['merges.txt'])) {
    throw new Error('cannot save: the checkpoint has no tokenizer (tokenizer.json, or vocab.json and merges.txt)');
  }
  const dtype = options.weightsDtype ?? 'F32';
  const files: CheckpointFiles = new Map();
  files.set(CONFIG_FILE, encoder.encode(configJsonWithDtype(ckpt.config, dtype)));
  const generation = ckpt.generationConfig ?? defaultGenerationConfig(ckpt.config);
  files.set(GENERATION_CONFIG_FILE, encoder.encode(JSON.stringify(generation, null, 2) + '\n'));
  for (const [name, bytes] of weightsToFiles(ckpt.weights, { dtype, maxShardBytes: options.maxShardBytes }))
    files.set(name, bytes);
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

  const weights = readWeights(files, config);

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

/** The weights of model.safetensors or of its shards, checked against the config before any tensor is decoded. */
function readWeights(files: CheckpointFiles, config: ModelConfig): NamedTensors {
  const sources = weightsSources(files);
  const source = sources.length === 1 ? sources[0].file : WEIGHTS_INDEX_FILE;
  const listed = sources.flatMap(({ file, entries }) => entries.map((e) => ({ name: e.name, shape: e.shape, file })));
  checkTensorCount(listed, config, source);
  checkWeightIndex(listed, config, source);
  const decoded: NamedTensors = new Map();
  const fileOf = new Map<string, string>();
  for (const { file, bytes } of sources) {
    const { tensors } = readSafetensors(bytes, { fileName: file, skip: (n) => hearthName(n, config) === null });
    for (const [name, t] of tensors) {
      decoded.set(name, t);
      fileOf.set(hearthName(name, config)!, file);
    }
  }
  const tiedHead = familyOf(config).hfWeights.tiedHead?.name;
  return toHearthWeights(decoded, config, (tiedHead && fileOf.get(tiedHead)) || source);
}

/** config.json as the family writes it, its torch_dtype saying what the weights files hold. */
function configJsonWithDtype(config: ModelConfig, dtype: WeightsDtype): string {
  const json = JSON.parse(modelConfigToJson(config)) as Record<string, unknown>;
  json.torch_dtype = TORCH_DTYPES[dtype];
  const sorted = Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted, null, 2) + '\n';
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
