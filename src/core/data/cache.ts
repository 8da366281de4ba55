// Tokenized files are cached by content and tokenizer, so dropping the same files again (or resuming training after
// a reload) skips tokenization, and training reads its blocks from here instead of holding a corpus in memory.
// Entries are arrays of 1-, 2- or 4-byte unsigned integers (token ids, loss masks, example lengths), written by
// appending and read by range. IndexedDB in the browser (in chunks); in Node a folder (see node.ts); or memory.
import { createStore, del, delMany, get, keys, set, type UseStore } from 'idb-keyval';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { TextSource } from './sources.ts';

/** What an entry holds: token ids are 2 bytes while the vocabulary fits, 4 beyond 65,536 ids. */
export type StoredArray = Uint8Array | Uint16Array | Uint32Array;
export type ElementWidth = 1 | 2 | 4;

export function arrayOfWidth(width: ElementWidth, length: number): StoredArray {
  return width === 1 ? new Uint8Array(length) : width === 2 ? new Uint16Array(length) : new Uint32Array(length);
}

/** A cached array, read by range without loading the rest. */
export interface ArrayReader {
  readonly length: number;
  readonly width: ElementWidth;
  /** elements [start, end) */
  read(start: number, end: number): Promise<StoredArray>;
}

/** A new entry, filled by appending; it appears under its key only once finished (a crash leaves no half entry). */
export interface ArrayWriter {
  append(values: ArrayLike<number>): Promise<void>;
  finish(): Promise<ArrayReader>;
  /** Gives up on the entry: nothing appears under its key, and what was written so far is removed. */
  abort(): Promise<void>;
}

export interface TokenCache {
  open(key: string): Promise<ArrayReader | undefined>;
  create(key: string, width: ElementWidth): ArrayWriter;
}

/** values[start, end) without copying a typed array. */
export function slicePart(values: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  return ArrayBuffer.isView(values)
    ? (values as StoredArray).subarray(start, end)
    : (Array.prototype.slice.call(values, start, end) as number[]);
}

/** A reader over an array in memory. */
function memoryReader(data: StoredArray): ArrayReader {
  return {
    length: data.length,
    width: data.BYTES_PER_ELEMENT as ElementWidth,
    read: async (start, end) => data.subarray(start, end),
  };
}

/** Appends into arrays that double as they fill; finish trims to length. */
export class GrowingArray {
  private data: StoredArray;
  length = 0;
  constructor(readonly width: ElementWidth) {
    this.data = arrayOfWidth(width, 1 << 12);
  }
  push(values: ArrayLike<number>): void {
    if (this.length + values.length > this.data.length) {
      const bigger = arrayOfWidth(this.width, Math.max(this.data.length * 2, this.length + values.length));
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    this.data.set(values, this.length);
    this.length += values.length;
  }
  /** A trimmed copy, so the slack is freed. */
  finish(): StoredArray {
    return this.data.slice(0, this.length);
  }
}

/** Entries in memory: for tests, and for loading without a cache (the corpus then stays resident). */
export function memoryTokenCache(): TokenCache {
  const map = new Map<string, StoredArray>();
  return {
    open: async (key) => {
      const data = map.get(key);
      return data ? memoryReader(data) : undefined;
    },
    create: (key, width) => {
      const buffer = new GrowingArray(width);
      return {
        append: async (values) => buffer.push(values),
        finish: async () => {
          const data = buffer.finish();
          map.set(key, data);
          return memoryReader(data);
        },
        abort: async () => {},
      };
    },
  };
}

/** Elements per IndexedDB record: a block of a batch costs one small read, a sequential scan few. */
const IDB_CHUNK = 1 << 16;

interface ChunkedEntry {
  chunked: 1;
  width: ElementWidth;
  length: number;
  chunk: number;
  /** when the entry was last opened or written (ms since the epoch, to the hour); absent in older entries */
  used?: number;
}

/** What a sweep of the IndexedDB cache did. */
export interface SweepResult {
  /** entries removed, least recently used first */
  removed: number;
  /** bytes of token data removed (entries and the chunks of writes that never finished) */
  freedBytes: number;
  /** bytes of token data left */
  keptBytes: number;
}

/** The IndexedDB token cache, which can also drop what was least recently used. */
export interface IndexedDbTokenCache extends TokenCache {
  /**
   * Removes entries, least recently used first, until what is left fits `budgetBytes`; entries under `keep` (a
   * run's files) stay whatever their age. Also removes chunks that no finished entry owns (a write cut short by a
   * closed tab), unless their write began within the last day (another tab may be writing now).
   */
  sweep(budgetBytes: number, keep?: Iterable<string>): Promise<SweepResult>;
}

/** `used` is rewritten at most this often, so reading an entry rarely costs a write. */
const USE_RESOLUTION_MS = 3_600_000;
/** A write that began longer ago than this and never finished was cut short. */
const ABANDONED_MS = 86_400_000;

/** Where a write in progress notes when it began; its chunks are `${key}#0`, `${key}#1`, … */
const writeMarker = (key: string) => `${key}#writing`;

/**
 * IndexedDB through idb-keyval: an entry is its chunks (typed arrays, stored by structured clone) under key#i,
 * then a small record under key that says how many. An entry written whole by an older Hearth still reads.
 */
export function indexedDbTokenCache(dbName = 'hearth-token-cache', now: () => number = Date.now): IndexedDbTokenCache {
  let store: UseStore | null = null;
  const open = () => (store ??= createStore(dbName, 'tokens'));
  const hour = () => Math.floor(now() / USE_RESOLUTION_MS) * USE_RESOLUTION_MS;
  return {
    async open(key) {
      const v = await get<StoredArray | ChunkedEntry>(key, open());
      if (isStoredArray(v)) return memoryReader(v);
      if (!v || v.chunked !== 1) return undefined;
      if (v.used !== hour()) await set(key, { ...v, used: hour() }, open());
      return chunkedReader(v, (i) => get<StoredArray>(`${key}#${i}`, open()));
    },
    create(key, width) {
      let pending = arrayOfWidth(width, IDB_CHUNK);
      let filled = 0;
      let chunks = 0;
      let length = 0;
      const flush = async () => {
        await set(`${key}#${chunks++}`, pending.slice(0, filled), open());
        filled = 0;
      };
      const begun = set(writeMarker(key), now(), open());
      return {
        async append(values) {
          await begun;
          let at = 0;
          while (at < values.length) {
            const n = Math.min(values.length - at, IDB_CHUNK - filled);
            pending.set(n === values.length ? values : slicePart(values, at, at + n), filled);
            filled += n;
            at += n;
            if (filled === IDB_CHUNK) await flush();
          }
          length += values.length;
        },
        async finish() {
          await begun;
          if (filled > 0) await flush();
          pending = arrayOfWidth(width, 0);
          const entry: ChunkedEntry = { chunked: 1, width, length, chunk: IDB_CHUNK, used: hour() };
          await set(key, entry, open());
          await del(writeMarker(key), open());
          return chunkedReader(entry, (i) => get<StoredArray>(`${key}#${i}`, open()));
        },
        async abort() {
          await begun;
          await delMany([...Array.from({ length: chunks }, (_, i) => `${key}#${i}`), writeMarker(key)], open());
        },
      };
    },
    sweep: (budgetBytes, keep = []) => sweepStore(open(), budgetBytes, new Set(keep), now()),
  };
}

const isStoredArray = (v: unknown): v is StoredArray =>
  v instanceof Uint8Array || v instanceof Uint16Array || v instanceof Uint32Array;

/** The sweep: entries are read by their small records (an older whole entry is read to learn its size). */
async function sweepStore(store: UseStore, budgetBytes: number, keep: Set<string>, now: number): Promise<SweepResult> {
  const all = (await keys(store)).filter((k): k is string => typeof k === 'string');
  const chunksOf = new Map<string, string[]>();
  const entries: string[] = [];
  for (const k of all) {
    const hash = k.lastIndexOf('#');
    if (hash < 0) entries.push(k);
    else if (k.slice(hash + 1) !== 'writing') {
      const base = k.slice(0, hash);
      chunksOf.set(base, [...(chunksOf.get(base) ?? []), k]);
    }
  }
  const result: SweepResult = { removed: 0, freedBytes: 0, keptBytes: 0 };
  const sized: { key: string; bytes: number; used: number }[] = [];
  for (const key of entries) {
    const v = await get<StoredArray | ChunkedEntry>(key, store);
    if (isStoredArray(v)) sized.push({ key, bytes: v.byteLength, used: 0 });
    else if (v?.chunked === 1) sized.push({ key, bytes: v.length * v.width, used: v.used ?? 0 });
  }
  const owned = new Set(sized.map((e) => e.key));
  for (const [base, chunkKeys] of chunksOf) {
    if (owned.has(base)) continue;
    const began = await get<number>(writeMarker(base), store);
    if (began !== undefined && now - began < ABANDONED_MS) continue;
    const chunks = await Promise.all(chunkKeys.map((k) => get<StoredArray>(k, store)));
    await delMany([...chunkKeys, writeMarker(base)], store);
    result.freedBytes += chunks.reduce((n, c) => n + (c?.byteLength ?? 0), 0);
  }
  let total = sized.reduce((n, e) => n + e.bytes, 0);
  for (const e of sized.sort((a, b) => a.used - b.used)) {
    if (total <= budgetBytes) break;
    if (keep.has(e.key)) continue;
    // The record goes first: a reader then finds no entry rather than one with chunks missing.
    await del(e.key, store);
    await delMany(chunksOf.get(e.key) ?? [], store);
    total -= e.bytes;
    result.freedBytes += e.bytes;
    result.removed++;
  }
  result.keptBytes = total;
  return result;
}

/** Chunks kept after reading: consecutive blocks and sequential scans mostly hit them. */
const CHUNKS_KEPT = 8;

function chunkedReader(entry: ChunkedEntry, load: (i: number) => Promise<StoredArray | undefined>): ArrayReader {
  const kept = new Map<number, StoredArray>();
  const chunkAt = async (i: number): Promise<StoredArray> => {
    let c = kept.get(i);
    if (c) {
      kept.delete(i); // re-inserted below: the map's order is the order of use
    } else {
      c = await load(i);
      if (!c) throw new Error(`the token cache lost part of an entry (chunk ${i}); drop the files again`);
    }
    kept.set(i, c);
    if (kept.size > CHUNKS_KEPT) kept.delete(kept.keys().next().value!);
    return c;
  };
  return {
    length: entry.length,
    width: entry.width,
    async read(start, end) {
      const out = arrayOfWidth(entry.width, Math.max(0, end - start));
      for (let at = start; at < end;) {
        const i = Math.floor(at / entry.chunk);
        const c = await chunkAt(i);
        const from = at - i * entry.chunk;
        const n = Math.min(end - at, c.length - from);
        out.set(c.subarray(from, from + n), at - start);
        at += n;
      }
      return out;
    },
  };
}

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (data: Uint8Array) => crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);

export async function sha256Hex(text: string): Promise<string> {
  return hex(await sha256(new TextEncoder().encode(text)));
}

/** Hash blocks of this size separately: SubtleCrypto cannot hash a stream incrementally. */
const HASH_BLOCK = 1 << 22;

/** SHA-256 over the SHA-256 of each 4 MiB block of the content, read as a stream. */
export async function contentHash(source: TextSource): Promise<string> {
  const reader = source.stream().getReader();
  const digests: ArrayBuffer[] = [];
  const block = new Uint8Array(HASH_BLOCK);
  let filled = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    let chunk = r.value;
    while (chunk.length > 0) {
      const n = Math.min(chunk.length, HASH_BLOCK - filled);
      block.set(chunk.subarray(0, n), filled);
      filled += n;
      chunk = chunk.subarray(n);
      if (filled === HASH_BLOCK) {
        digests.push(await sha256(block));
        filled = 0;
      }
    }
  }
  reader.releaseLock();
  if (filled > 0 || digests.length === 0) digests.push(await sha256(block.subarray(0, filled)));
  const all = new Uint8Array(digests.length * 32);
  digests.forEach((d, i) => all.set(new Uint8Array(d), i * 32));
  return hex(await sha256(all));
}

const tokenizerHashes = new WeakMap<Tokenizer, Promise<string>>();

export function tokenizerHash(tokenizer: Tokenizer): Promise<string> {
  let h = tokenizerHashes.get(tokenizer);
  if (!h) {
    h = sha256Hex(tokenizer.toTokenizerJson());
    tokenizerHashes.set(tokenizer, h);
  }
  return h;
}

/** The key of a plain text file's tokens (the format of the first cache, so its entries still hit). */
export async function cacheKey(source: TextSource, tokenizer: Tokenizer): Promise<string> {
  const [content, tok] = await Promise.all([contentHash(source), tokenizerHash(tokenizer)]);
  return `v1:${tok}:${content}`;
}
