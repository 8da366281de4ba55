// Tokenizes text as it streams in: the tokenizer's chunk encoder cuts text where cutting cannot change the tokens,
// so a 1 GB file never has to be one string, and its ids go on to a sink (a cache entry) as they come. Training
// text gets no template tokens (Llama's BOS).
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

/** Ids of text arriving in chunks, handed to `sink` piece by piece; resolves with how many. */
export async function tokenizeChunks(
  chunks: AsyncIterable<string>,
  tokenizer: Tokenizer,
  sink: (ids: number[]) => void | Promise<void>,
): Promise<number> {
  const encoder = tokenizer.createChunkEncoder();
  let count = 0;
  const emit = async (ids: number[]) => {
    count += ids.length;
    if (ids.length) await sink(ids);
  };
  for await (const chunk of chunks) await emit(encoder.push(chunk));
  await emit(encoder.finish());
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
