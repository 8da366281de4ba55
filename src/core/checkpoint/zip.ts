// Zip export and import of a checkpoint folder. Writing uses fflate's streaming Zip (weights stored,
// text deflated). Reading walks the central directory itself so that every size and compression
// ratio is checked before anything is inflated, lets the caller judge each entry's first bytes (a
// safetensors header) before the rest is inflated, and inflates in small steps, stopping the moment
// an entry grows past what it declared or the archive past its total limit: a zip bomb costs a few
// milliseconds, not the tab.
import { Inflate, Zip, ZipDeflate, type AsyncFlateStreamHandler, type ZipInputFile } from 'fflate';
import { crc32 } from './crc32.ts';
import { CheckpointError, invalid } from './errors.ts';
import { copyBytes } from './tensors.ts';
import { concatBytes } from '../util/bytes.ts';

/** Zip without the zip64 extension (fflate writes none) cannot describe 4 GiB or more. */
const ZIP32_LIMIT = 0xffffffff;
/** Default cap on everything an import may inflate: the largest checkpoint a tab can hold anyway. */
export const DEFAULT_MAX_UNZIPPED_BYTES = 4 * 1024 ** 3;
/** Compressed bytes handed to the inflater per step; deflate expands at most ~1032x, so one step
 * produces at most ~16 MiB before the size checks run again. */
const INFLATE_STEP = 16 * 1024;
/** Compressed bytes per step while inflating an entry's head for inspection: at most ~1 MiB out. */
const HEAD_STEP = 1024;
/**
 * The most a large entry may expand. Weights barely compress (about 1.1:1) and tokenizer files reach about 4:1; only
 * long runs of one byte come near deflate's own limit of about 1032:1, and a checkpoint has no reason to hold those.
 */
const MAX_COMPRESSION_RATIO = 100;
/** Entries that declare at most this many bytes may compress as well as they like: they cost nothing to inflate. */
const RATIO_FREE_BYTES = 1024 * 1024;

/** A zip of the files under `folder/`, as chunks (a Blob in the page, sequential writes in Node). */
export function zipFolder(files: Iterable<[string, Uint8Array]>, folder?: string): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else chunks.push(chunk);
  });
  let total = 0;
  for (const [name, bytes] of files) {
    total += bytes.byteLength;
    if (bytes.byteLength >= ZIP32_LIMIT || total >= ZIP32_LIMIT) {
      throw new Error(
        `cannot export: the files pass 4 GiB, more than a zip without zip64 can hold (export the weights as F16, or without training state)`,
      );
    }
    const path = folder ? `${folder}/${name}` : name;
    // Weights barely compress and deflating hundreds of MB takes seconds: store them as they are.
    const entry = name.endsWith('.safetensors') ? new StoredEntry(path, bytes) : new ZipDeflate(path, { level: 6 });
    zip.add(entry);
    entry.push(bytes, true);
  }
  zip.end();
  if (failure) throw failure;
  return chunks;
}

/** An entry stored as it is, with our faster checksum (fflate's pass-through computes its own). */
class StoredEntry implements ZipInputFile {
  readonly compression = 0;
  readonly size: number;
  readonly crc: number;
  ondata?: AsyncFlateStreamHandler;
  constructor(
    readonly filename: string,
    private readonly data: Uint8Array,
  ) {
    this.size = data.byteLength;
    this.crc = crc32(data);
  }
  push(): void {
    this.ondata!(null, this.data as Uint8Array<ArrayBuffer>, true);
  }
}

export { crc32 };

export interface UnzipOptions {
  /** Refuse archives whose wanted entries would inflate past this many bytes in all. */
  maxTotalBytes?: number;
  /** Which entries to inflate (by path); the others are listed in `skipped` and never read. */
  want?: (path: string) => boolean;
  /**
   * Judges an entry from its first bytes before the rest is inflated; throws to refuse the archive. `head(n)` gives
   * the entry's first n bytes (fewer only when the entry is shorter), inflating little more than that.
   */
  inspect?: (path: string, size: number, head: (n: number) => Uint8Array) => void;
}

export interface UnzipResult {
  files: [string, Uint8Array][];
  skipped: string[];
}

interface CentralEntry {
  path: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export function unzip(bytes: Uint8Array, options: UnzipOptions = {}): UnzipResult {
  const limit = options.maxTotalBytes ?? DEFAULT_MAX_UNZIPPED_BYTES;
  const entries = readCentralDirectory(bytes);
  const files: [string, Uint8Array][] = [];
  const skipped: string[] = [];
  const wanted: CentralEntry[] = [];
  let declared = 0;
  for (const e of entries) {
    if (e.path.endsWith('/')) continue; // a folder
    if (options.want && !options.want(e.path)) {
      skipped.push(e.path);
      continue;
    }
    declared += e.size;
    wanted.push(e);
  }
  if (declared > limit) {
    throw new CheckpointError(
      'zip-bomb',
      `zip: the archive would unpack to ${mb(declared)}, over the ${mb(limit)} limit; refusing it`,
    );
  }
  for (const e of wanted) {
    if (e.method === 8 && e.size > RATIO_FREE_BYTES && e.size > e.compressedSize * MAX_COMPRESSION_RATIO) {
      throw new CheckpointError(
        'zip-bomb',
        `zip: "${e.path}" would inflate ${mb(e.size)} from ${kib(e.compressedSize)} (${Math.round(e.size / Math.max(e.compressedSize, 1))}:1, over the ${MAX_COMPRESSION_RATIO}:1 no checkpoint file comes near); refusing the archive (zip bomb?)`,
      );
    }
  }
  let produced = 0;
  for (const e of wanted) {
    const data = readEntryData(bytes, e);
    const out =
      e.method === 0
        ? storedEntry(data, e, options.inspect)
        : inflateGuarded(data, e, limit - produced, options.inspect);
    produced += out.byteLength;
    if (crc32(out) !== e.crc) throw invalid(`zip: "${e.path}" is damaged (checksum mismatch)`);
    files.push([e.path, out]);
  }
  return { files, skipped };
}

function readCentralDirectory(bytes: Uint8Array): CentralEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record sits in the last 22 bytes plus up to 64 KiB of comment.
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
    if (view.getUint32(p, true) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw invalid('not a zip archive (no end-of-archive record; truncated?)');
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) {
    throw invalid('zip64 archives (over 4 GiB or 65535 files) are not supported');
  }
  if (cdOffset + cdSize > eocd)
    throw invalid('zip: the central directory runs past the end of the archive (truncated?)');

  const entries: CentralEntry[] = [];
  const names = new Set<string>();
  const decoder = new TextDecoder();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || view.getUint32(p, true) !== 0x02014b50)
      throw invalid('zip: damaged central directory');
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    if (p + 46 + nameLen > cdOffset + cdSize) throw invalid('zip: damaged central directory');
    const e: CentralEntry = {
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localOffset: view.getUint32(p + 42, true),
      path: decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen)),
    };
    if (names.has(e.path)) throw invalid(`zip: two entries named "${e.path}"`);
    names.add(e.path);
    if (e.size === 0xffffffff || e.compressedSize === 0xffffffff || e.localOffset === 0xffffffff) {
      throw invalid(`zip: "${e.path}" uses zip64 (over 4 GiB), which is not supported`);
    }
    if (e.flags & 1) throw invalid(`zip: "${e.path}" is encrypted`);
    if (!e.path.endsWith('/') && e.method !== 0 && e.method !== 8) {
      throw invalid(`zip: "${e.path}" uses compression method ${e.method}; only stored and deflate are supported`);
    }
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function readEntryData(bytes: Uint8Array, e: CentralEntry): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = e.localOffset;
  if (p + 30 > bytes.length || view.getUint32(p, true) !== 0x04034b50)
    throw invalid(`zip: "${e.path}" has a damaged local header`);
  const start = p + 30 + view.getUint16(p + 26, true) + view.getUint16(p + 28, true);
  const end = start + e.compressedSize;
  if (end > bytes.length) throw invalid(`zip: "${e.path}" runs past the end of the archive (truncated?)`);
  if (e.method === 0 && e.compressedSize !== e.size)
    throw invalid(`zip: stored entry "${e.path}" has inconsistent sizes`);
  return bytes.subarray(start, end);
}

function storedEntry(data: Uint8Array, e: CentralEntry, inspect: UnzipOptions['inspect']): Uint8Array {
  inspect?.(e.path, e.size, (n) => data.subarray(0, n));
  return copyBytes(data);
}

/** Inflates an entry in small steps, never past its declared size or the budget; its head is inspected first. */
function inflateGuarded(
  data: Uint8Array,
  e: CentralEntry,
  budget: number,
  inspect: UnzipOptions['inspect'],
): Uint8Array {
  // Until the head has been judged, output is kept as chunks; the entry's full size is allocated only after.
  let out: Uint8Array | null = null;
  let early: Uint8Array[] = [];
  let at = 0;
  let consumed = 0;
  let finished = false;
  const inflater = new Inflate((chunk, final) => {
    if (at + chunk.length > e.size || at + chunk.length > budget) {
      throw new CheckpointError(
        'zip-bomb',
        `zip: "${e.path}" inflates past its declared ${mb(e.size)}; refusing the archive (zip bomb?)`,
      );
    }
    if (out) out.set(chunk, at);
    else early.push(chunk);
    at += chunk.length;
    if (final) finished = true;
  });
  const pump = (until: number, step: number) => {
    try {
      if (data.length === 0 && !finished) inflater.push(new Uint8Array(0), true);
      while (!finished && at < until && consumed < data.length) {
        const end = Math.min(consumed + step, data.length);
        inflater.push(data.subarray(consumed, end), end === data.length);
        consumed = end;
      }
    } catch (err) {
      if (err instanceof CheckpointError) throw err;
      throw invalid(`zip: "${e.path}" is damaged (${(err as Error).message})`);
    }
  };
  inspect?.(e.path, e.size, (n) => {
    pump(n, HEAD_STEP);
    return concatBytes(early).subarray(0, n);
  });
  out = new Uint8Array(e.size);
  out.set(concatBytes(early));
  early = [];
  pump(Infinity, INFLATE_STEP);
  if (!finished || at !== e.size)
    throw invalid(`zip: "${e.path}" inflated to ${at} bytes, not the ${e.size} it declares`);
  return out;
}

function mb(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}
