// Tokenizes text as it streams in: text is cut where cutting cannot change the tokens (see safeCutIndex), so a
// 1 GB file never has to be one string, and its ids go on to a sink (a cache entry) as they come.
import { safeCutIndex } from '../tokenizer/byte_level.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { GrowingArray } from './cache.ts';
import { readTextChunks, type ReadTextOptions } from './read_text.ts';
import type { TextSource } from './sources.ts';

/** Token ids as stored: 2 bytes each while the vocabulary fits, 4 beyond 65,536 ids. */
export type TokenArray = Uint16Array | Uint32Array;

export function tokenWidth(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

export function tokenArrayFor(vocabSize: number, length: number): TokenArray {
  return tokenWidth(vocabSize) === 2 ? new Uint16Array(length) : new Uint32Array(length);
}

/** Past this much text without a safe cut (one enormous word), cut anyway. */
const MAX_CARRY = 1 << 20;

/** Ids of text arriving in chunks, handed to `sink` piece by piece; resolves with how many. */
export async function tokenizeChunks(
  chunks: AsyncIterable<string>,
  tokenizer: Tokenizer,
  sink: (ids: number[]) => void | Promise<void>,
): Promise<number> {
  let count = 0;
  let carry = '';
  const emit = async (text: string) => {
    const ids = tokenizer.encode(text);
    count += ids.length;
    if (ids.length) await sink(ids);
  };
  for await (const chunk of chunks) {
    const text = carry + chunk;
    let cut = safeCutIndex(text);
    if (cut === 0 && text.length > MAX_CARRY) cut = text.length;
    carry = text.slice(cut);
    if (cut > 0) await emit(text.slice(0, cut));
  }
  if (carry) await emit(carry);
  return count;
}

/** The ids of a plain text source, in memory. */
export async function tokenizeSource(
  source: TextSource,
  tokenizer: Tokenizer,
  options: ReadTextOptions = {},
): Promise<TokenArray> {
  const out = new GrowingArray(tokenWidth(tokenizer.vocabSize));
  await tokenizeChunks(readTextChunks(source, options), tokenizer, (ids) => out.push(ids));
  return out.finish() as TokenArray;
}
