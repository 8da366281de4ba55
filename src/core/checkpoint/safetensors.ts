// safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the raw little-endian data. Files come from strangers, so the header
// is checked completely (sizes, ranges, overlaps, names) before a single tensor is allocated.
import { decodeBF16, decodeF16, encodeHalf } from './float16.ts';
import { invalid } from './errors.ts';
import { parseStrictJson, type JsonObject, type JsonValue } from './strict_json.ts';
import type { HostTensor, NamedTensors } from '../model/host_tensors.ts';
import { copyBytes, elementCount, firstNonFinite, formatShape } from './tensors.ts';

export const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;
const FLOAT_DTYPES = new Set<SafetensorsDtype>(['F32', 'F16', 'BF16', 'F64']);

/** Hugging Face's own limit: a larger header is an attack, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the whole file (header included), end exclusive. */
  begin: number;
  end: number;
}

export interface SafetensorsIndex {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/**
 * The header's length from a file's first 8 bytes, checked against the limit and the file's length: all a reader needs
 * to know how much more to read before the header can be parsed.
 */
export function safetensorsHeaderLength(first: Uint8Array, fileLength: number, fileName = 'safetensors file'): number {
  const fail = (m: string) => invalid(`${fileName}: ${m}`);
  if (fileLength < 8 || first.length < 8)
    throw fail(`truncated: ${fileLength} bytes, too short to hold the 8-byte header length`);
  const view = new DataView(first.buffer, first.byteOffset, 8);
  const headerLen = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerLen > MAX_HEADER_BYTES) {
    throw fail(`header length ${headerLen} bytes is over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (8 + headerLen > fileLength) {
    throw fail(
      `header length ${headerLen} runs past the end of the file (${fileLength} bytes): truncated or not safetensors`,
    );
  }
  return headerLen;
}

/**
 * Validates the header of `bytes` and lists its tensors; reads no tensor data. `bytes` may be only the file's head (its
 * first 8 + header-length bytes) when `fileLength` gives the whole file's length, so that a file still inside a zip is
 * judged before the rest of it is inflated.
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  fileName = 'safetensors file',
  fileLength = bytes.length,
): SafetensorsIndex {
  const fail = (m: string) => invalid(`${fileName}: ${m}`);
  const headerLen = safetensorsHeaderLength(bytes, fileLength, fileName);
  if (8 + headerLen > bytes.length) throw new Error(`${fileName}: the header was not read whole`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    throw fail('header is not valid UTF-8');
  }
  let header: JsonValue;
  try {
    header = parseStrictJson(text);
  } catch (e) {
    throw fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw fail('header must be a JSON object');
  }

  const dataStart = 8 + headerLen;
  const dataLength = fileLength - dataStart;
  const metadata = parseMetadata(header.__metadata__, fail);
  const entries: SafetensorsEntry[] = [];
  for (const name of Object.keys(header)) {
    if (name === '__metadata__') continue;
    const e = parseEntry(name, header[name], dataLength, fail);
    entries.push({ ...e, begin: e.begin + dataStart, end: e.end + dataStart });
  }

  // Ranges must tile the data section exactly, as the reference implementation requires: no
  // overlaps (two names sharing bytes) and no gaps or trailing bytes (a sign of a damaged file).
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  let cursor = dataStart;
  let previous: SafetensorsEntry | null = null;
  for (const e of sorted) {
    if (e.begin < cursor) {
      throw fail(
        `tensors "${previous!.name}" and "${e.name}" overlap (data_offsets share bytes ${e.begin - dataStart}..${cursor - dataStart})`,
      );
    }
    if (e.begin > cursor)
      throw fail(`bytes ${cursor - dataStart}..${e.begin - dataStart} of the data section belong to no tensor`);
    cursor = e.end;
    previous = e;
  }
  if (cursor !== fileLength) {
    throw fail(`${fileLength - cursor} bytes after the last tensor belong to no tensor (file damaged or padded)`);
  }
  return { entries, metadata };
}

function parseMetadata(raw: JsonValue | undefined, fail: (m: string) => Error): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('__metadata__ must be an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw fail(`__metadata__ value for "${k}" must be a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(name: string, raw: JsonValue, dataLength: number, fail: (m: string) => Error) {
  const t = (m: string) => fail(`tensor "${name}": ${m}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw t('entry must be an object');
  const entry = raw as JsonObject;
  const dtype = entry.dtype;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw t(`unknown dtype ${JSON.stringify(dtype)}`);
  }
  const shape = entry.shape;
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw t(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const offsets = entry.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  ) {
    throw t(`data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) throw t(`data_offsets [${begin}, ${end}] run backwards`);
  if (end > dataLength) {
    throw t(
      `data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes): file truncated?`,
    );
  }
  const itemBytes = DTYPE_BYTES[dtype as SafetensorsDtype];
  let bytesNeeded = itemBytes;
  for (const d of shape as number[]) {
    bytesNeeded *= d;
    if (bytesNeeded > Number.MAX_SAFE_INTEGER) throw t(`shape ${formatShape(shape as number[])} is impossibly large`);
  }
  if (bytesNeeded !== end - begin) {
    throw t(
      `shape ${formatShape(shape as number[])} of ${dtype} needs ${bytesNeeded} bytes but data_offsets span ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

export interface ReadOptions {
  fileName?: string;
  /** Names to leave unread (buffers such as attn.bias); they are still validated in the header. */
  skip?: (name: string) => boolean;
  /** Refuse NaN and infinities with the tensor's name (default true: such weights cannot train). */
  requireFinite?: boolean;
}

/** Validates the whole file, then decodes every float tensor to float32. */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadOptions = {},
): { tensors: NamedTensors; metadata: Record<string, string>; dtypes: Map<string, SafetensorsDtype> } {
  const fileName = options.fileName ?? 'safetensors file';
  const { entries, metadata } = parseSafetensorsHeader(bytes, fileName);
  const wanted = entries.filter((e) => !options.skip?.(e.name));
  for (const e of wanted) {
    if (!FLOAT_DTYPES.has(e.dtype)) {
      throw invalid(
        `${fileName}: tensor "${e.name}" has dtype ${e.dtype}; Hearth reads float tensors only (F32, F16, BF16, F64)`,
      );
    }
  }
  const tensors: NamedTensors = new Map();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const e of wanted) {
    const tensor = decodeTensor(bytes, e);
    if (options.requireFinite !== false) {
      const bad = firstNonFinite(tensor.data);
      if (bad >= 0) {
        throw invalid(
          `${fileName}: tensor "${e.name}" holds ${tensor.data[bad]} at element ${bad}; refusing weights that are not finite numbers`,
        );
      }
    }
    tensors.set(e.name, tensor);
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, metadata, dtypes };
}

function decodeTensor(bytes: Uint8Array, e: SafetensorsEntry): HostTensor {
  const n = elementCount(e.shape);
  const raw = bytes.subarray(e.begin, e.end);
  let data: Float32Array;
  switch (e.dtype) {
    case 'F32':
      // A copy into a fresh, aligned buffer: offsets in a file need not be multiples of 4.
      data = new Float32Array(copyBytes(raw).buffer, 0, n);
      break;
    case 'F16':
      data = new Float32Array(n);
      decodeF16(raw, data);
      break;
    case 'BF16':
      data = new Float32Array(n);
      decodeBF16(raw, data);
      break;
    case 'F64':
      data = Float32Array.from(new Float64Array(copyBytes(raw).buffer, 0, n));
      break;
    default:
      throw invalid(`tensor "${e.name}": cannot decode ${e.dtype}`);
  }
  return { shape: [...e.shape], data };
}

/** The dtypes Hearth writes weights in. */
export type WeightsDtype = 'F32' | 'BF16' | 'F16';

/** PyTorch's name of each, as config.json's torch_dtype says it. */
export const TORCH_DTYPES: Record<WeightsDtype, string> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' };

export interface WriteOptions {
  /**
   * F32 keeps every bit (needed to resume exactly); BF16 and F16 halve the size for sharing, each value rounded to
   * the nearest (ties to even). A finite value beyond the format's range is refused rather than written as infinity.
   */
  dtype?: WeightsDtype;
  metadata?: Record<string, string>;
}

export function writeSafetensors(tensors: Iterable<[string, HostTensor]>, options: WriteOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  const itemBytes = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (options.metadata && Object.keys(options.metadata).length > 0) header.__metadata__ = options.metadata;
  const list: [string, HostTensor, number][] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || Object.hasOwn(header, name))
      throw new Error(`cannot write tensor name "${name}" twice or as __metadata__`);
    const n = elementCount(t.shape);
    if (n !== t.data.length)
      throw new Error(`tensor "${name}": shape ${formatShape(t.shape)} holds ${n} values, data has ${t.data.length}`);
    const size = n * itemBytes;
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    list.push([name, t, offset]);
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so the data starts 8-byte aligned, letting readers map it in place.
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  const dataStart = 8 + json.length;
  for (const [name, t, at] of list) {
    const dest = out.subarray(dataStart + at, dataStart + at + t.data.length * itemBytes);
    if (dtype === 'F32') {
      dest.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      continue;
    }
    const overflow = encodeHalf(t.data, dest, dtype);
    if (overflow >= 0) {
      throw new Error(
        `cannot write tensor "${name}" as ${dtype}: element ${overflow} (${t.data[overflow]}) is beyond ${dtype}'s range${dtype === 'F16' ? ' (±65504); write BF16 or F32 instead' : ''}`,
      );
    }
  }
  return out;
}
