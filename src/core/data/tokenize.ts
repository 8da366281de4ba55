// Tokenizes one source as it streams in: the tokenizer's chunk encoder cuts text where cutting cannot change the
// tokens, so a 1 GB file never has to be one string. Training text gets no template tokens (Llama's BOS).
import type { Tokenizer } from '../tokenizer/types.ts';
import { readTextChunks, type ReadTextOptions } from './read_text.ts';
import type { TextSource } from './sources.ts';

/** Token ids as stored: 2 bytes each while the vocabulary fits, 4 beyond 65,536 ids. */
export type TokenArray = Uint16Array | Uint32Array;

export function tokenArrayFor(vocabSize: number, length: number): TokenArray {
  return vocabSize <= 65536 ? new Uint16Array(length) : new Uint32Array(length);
}

/** An append-only token array that doubles as it fills. */
export class TokenBuffer {
  private data: TokenArray;
  length = 0;
  constructor(private readonly vocabSize: number) {
    this.data = tokenArrayFor(vocabSize, 1 << 16);
  }
  push(ids: ArrayLike<number>): void {
    if (this.length + ids.length > this.data.length) {
      const bigger = tokenArrayFor(this.vocabSize, Math.max(this.data.length * 2, this.length + ids.length));
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    this.data.set(ids as ArrayLike<number>, this.length);
    this.length += ids.length;
  }
  /** The tokens, trimmed to length (a copy, so the buffer's slack is freed). */
  finish(): TokenArray {
    return this.data.slice(0, this.length);
  }
}

export async function tokenizeSource(
  source: TextSource,
  tokenizer: Tokenizer,
  options: ReadTextOptions = {},
): Promise<TokenArray> {
  const out = new TokenBuffer(tokenizer.vocabSize);
  const encoder = tokenizer.createChunkEncoder();
  for await (const chunk of readTextChunks(source, options)) out.push(encoder.push(chunk));
  out.push(encoder.finish());
  return out.finish();
}
