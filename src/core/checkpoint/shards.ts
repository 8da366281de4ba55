// A model's weights as Hugging Face files hold them: one model.safetensors, or, above a size limit, shards named
// model-00001-of-00003.safetensors beside model.safetensors.index.json, which maps every tensor to its shard
// (save_pretrained's layout). Reading checks the index against the shards' headers (every listed shard present, every
// tensor in exactly one shard, the one the index names) before any tensor is decoded.
import { CheckpointError, invalid } from './errors.ts';
import type { HostTensor } from '../model/host_tensors.ts';
import { parseStrictJson, type JsonValue } from './strict_json.ts';
import {
  DTYPE_BYTES,
  parseSafetensorsHeader,
  writeSafetensors,
  type SafetensorsEntry,
  type WeightsDtype,
} from './safetensors.ts';
import { elementCount } from './tensors.ts';

export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** save_pretrained's shard names: model-00001-of-00003.safetensors. */
export const SHARD_FILE_NAME = /^model-\d{5,}-of-\d{5,}\.safetensors$/;

/**
 * The default shard limit: 2 GB (2·10⁹ bytes, Hugging Face's decimal GB). A shard is built as one buffer before it is
 * written or zipped, and 2 GB stays under 2 GiB, the largest single ArrayBuffer some browsers allow; transformers'
 * own 5GB default would make files that a tab cannot hold. Models a browser trains stay in one file.
 */
export const DEFAULT_MAX_SHARD_BYTES = 2_000_000_000;

const SIZE_UNITS: [string, number][] = [
  ['GIB', 2 ** 30],
  ['MIB', 2 ** 20],
  ['KIB', 2 ** 10],
  ['GB', 1e9],
  ['MB', 1e6],
  ['KB', 1e3],
];

/**
 * A size as transformers spells max_shard_size ("5GB", "500MB", "2GiB", or bytes): GB/MB/KB are powers of ten,
 * GiB/MiB/KiB powers of two, and a lowercase final b (as in "5Gb") counts bits, as transformers' own parser does.
 */
export function parseShardSize(text: string): number {
  const s = text.trim();
  const refuse = () =>
    new Error(`"${text}" is not a size: give bytes or a whole number with GB, MB, KB, GiB, MiB or KiB (e.g. 2GB)`);
  if (/^\d+$/.test(s)) return positive(Number(s), text);
  const upper = s.toUpperCase();
  for (const [unit, factor] of SIZE_UNITS) {
    if (!upper.endsWith(unit)) continue;
    const digits = s.slice(0, -unit.length).trim();
    if (!/^\d+$/.test(digits)) throw refuse();
    const bytes = Number(digits) * factor;
    return positive(!unit.endsWith('IB') && s.endsWith('b') ? Math.floor(bytes / 8) : bytes, text);
  }
  throw refuse();
}

function positive(bytes: number, text: string): number {
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new Error(`shard size "${text}" must be at least one byte`);
  return bytes;
}

export interface WeightsFileOptions {
  dtype: WeightsDtype;
  /** Shard above this many bytes of tensor data (DEFAULT_MAX_SHARD_BYTES when absent). */
  maxShardBytes?: number;
}

/**
 * The weights as model.safetensors, or as shards and their index when they pass the limit. Shards are filled as
 * save_pretrained fills them: tensors in order, a new shard when the next tensor would pass the limit, a tensor larger
 * than the limit alone in its own shard.
 */
export function weightsToFiles(
  tensors: Iterable<[string, HostTensor]>,
  options: WeightsFileOptions,
): Map<string, Uint8Array> {
  const limit = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const itemBytes = DTYPE_BYTES[options.dtype];
  const list = [...tensors];
  const shards: (typeof list)[] = [];
  let current: typeof list = [];
  let currentBytes = 0;
  let totalSize = 0;
  for (const entry of list) {
    const size = elementCount(entry[1].shape) * itemBytes;
    totalSize += size;
    if (size > limit) {
      shards.push([entry]);
      continue;
    }
    if (currentBytes + size > limit && current.length > 0) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += size;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);

  // transformers' loader checks format "pt" in the metadata before it reads a safetensors file.
  const write = (part: typeof list) => writeSafetensors(part, { dtype: options.dtype, metadata: { format: 'pt' } });
  const files = new Map<string, Uint8Array>();
  if (shards.length === 1) {
    files.set(WEIGHTS_FILE, write(shards[0]));
    return files;
  }
  const width = Math.max(5, String(shards.length).length);
  const pad = (n: number) => String(n).padStart(width, '0');
  const weightMap: Record<string, string> = {};
  shards.forEach((part, i) => {
    const name = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    files.set(name, write(part));
    for (const [tensor] of part) weightMap[tensor] = name;
  });
  // As transformers writes it: keys sorted, two-space indent, a final newline.
  const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const index = { metadata: { total_size: totalSize }, weight_map: sortedMap };
  files.set(WEIGHTS_INDEX_FILE, new TextEncoder().encode(JSON.stringify(index, null, 2) + '\n'));
  return files;
}

export interface WeightsIndex {
  /** tensor name → shard file */
  weightMap: Map<string, string>;
  /** the shard files, in order of name (model-00001-… first) */
  shards: string[];
}

/** Reads and checks model.safetensors.index.json. */
export function parseWeightsIndex(bytes: Uint8Array): WeightsIndex {
  const fail = (m: string) => invalid(`${WEIGHTS_INDEX_FILE}: ${m}`);
  let json: JsonValue;
  try {
    json = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('must hold a JSON object');
  const metadata = json.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) throw fail('"metadata" must be an object');
    const total = metadata.total_size;
    if (total !== undefined && (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0)) {
      throw fail(`"metadata.total_size" must be a whole number of bytes, got ${JSON.stringify(total)}`);
    }
  }
  const map = json.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw fail('"weight_map" must be an object mapping each tensor name to its shard file');
  }
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  const seen = new Set<string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string') throw fail(`tensor "${tensor}" maps to ${JSON.stringify(file)}, not a file name`);
    if (!/^[\w][\w.-]*\.safetensors$/.test(file)) {
      throw fail(`tensor "${tensor}" maps to "${file}", which is not a .safetensors file beside the index`);
    }
    weightMap.set(tensor, file);
    if (!seen.has(file)) {
      seen.add(file);
      shards.push(file);
    }
  }
  if (weightMap.size === 0) throw fail('"weight_map" lists no tensor');
  return { weightMap, shards: shards.sort() };
}

/** A weights file's validated header. */
export interface WeightsSource {
  file: string;
  bytes: Uint8Array;
  entries: SafetensorsEntry[];
}

/**
 * The weight files of a checkpoint, their headers validated: model.safetensors where there is one (transformers
 * prefers it too), else the shards model.safetensors.index.json lists, checked against it.
 */
export function weightsSources(files: Map<string, Uint8Array>): WeightsSource[] {
  const single = files.get(WEIGHTS_FILE);
  if (single)
    return [{ file: WEIGHTS_FILE, bytes: single, entries: parseSafetensorsHeader(single, WEIGHTS_FILE).entries }];
  const indexBytes = files.get(WEIGHTS_INDEX_FILE);
  if (!indexBytes) {
    const hint = files.has('pytorch_model.bin')
      ? ' (there is a pytorch_model.bin: Hearth reads only safetensors, since PyTorch pickles can run code; convert it with the safetensors tools or save_pretrained(safe_serialization=True))'
      : '';
    throw new CheckpointError('missing-file', `no model.safetensors and no ${WEIGHTS_INDEX_FILE}${hint}`);
  }
  const index = parseWeightsIndex(indexBytes);
  const sources: WeightsSource[] = [];
  for (const file of index.shards) {
    const bytes = files.get(file);
    if (!bytes) {
      const listed = [...index.weightMap].find(([, f]) => f === file)![0];
      throw new CheckpointError(
        'missing-file',
        `${WEIGHTS_INDEX_FILE} puts tensor "${listed}" in ${file}, which is missing${SHARD_FILE_NAME.test(file) ? '' : ` (Hearth reads shards named as save_pretrained names them, model-00001-of-00002.safetensors)`}`,
      );
    }
    sources.push({ file, bytes, entries: parseSafetensorsHeader(bytes, file).entries });
  }
  const holder = new Map<string, string>();
  for (const { file, entries } of sources) {
    for (const e of entries) {
      const other = holder.get(e.name);
      if (other !== undefined)
        throw invalid(`tensor "${e.name}" is in two shards, ${other} and ${file}: each must be in exactly one`);
      holder.set(e.name, file);
    }
  }
  for (const [tensor, file] of holder) {
    const listed = index.weightMap.get(tensor);
    if (listed === undefined) throw invalid(`${file}: tensor "${tensor}" is not in ${WEIGHTS_INDEX_FILE}`);
    if (listed !== file)
      throw invalid(`${file}: tensor "${tensor}" is here, but ${WEIGHTS_INDEX_FILE} puts it in ${listed}`);
  }
  for (const [tensor, file] of index.weightMap) {
    if (!holder.has(tensor))
      throw invalid(`${WEIGHTS_INDEX_FILE} puts tensor "${tensor}" in ${file}, which does not hold it`);
  }
  return sources;
}
