// Tokenized files are cached by content and tokenizer, so dropping the same files again (or
// resuming training after a reload) skips tokenization. IndexedDB in the browser; in Node a
// folder (see node.ts) or nothing.
import { createStore, get, set, type UseStore } from 'idb-keyval';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { TextSource } from './sources.ts';
import type { TokenArray } from './tokenize.ts';

export interface TokenCache {
  get(key: string): Promise<TokenArray | undefined>;
  set(key: string, tokens: TokenArray): Promise<void>;
}

export const noTokenCache: TokenCache = {
  get: async () => undefined,
  set: async () => {},
};

export function memoryTokenCache(): TokenCache {
  const map = new Map<string, TokenArray>();
  return {
    get: async (key) => map.get(key),
    set: async (key, tokens) => void map.set(key, tokens),
  };
}

/** IndexedDB through idb-keyval; typed arrays are stored as they are (structured clone). */
export function indexedDbTokenCache(dbName = 'hearth-token-cache'): TokenCache {
  let store: UseStore | null = null;
  const open = () => (store ??= createStore(dbName, 'tokens'));
  return {
    get: async (key) => {
      const v = await get<TokenArray>(key, open());
      return v instanceof Uint16Array || v instanceof Uint32Array ? v : undefined;
    },
    set: (key, tokens) => set(key, tokens, open()),
  };
}

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (data: Uint8Array) => crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);

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
    h = sha256(new TextEncoder().encode(tokenizer.toTokenizerJson())).then(hex);
    tokenizerHashes.set(tokenizer, h);
  }
  return h;
}

export async function cacheKey(source: TextSource, tokenizer: Tokenizer): Promise<string> {
  const [content, tok] = await Promise.all([contentHash(source), tokenizerHash(tokenizer)]);
  return `v1:${tok}:${content}`;
}
