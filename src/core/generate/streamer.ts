// Streaming text out of token ids as they are generated, one decoder per sequence, so that a character whose
// bytes span several tokens appears only once all of them have arrived (nothing broken on screen).
import type { StreamDecoder, Tokenizer } from '../tokenizer/types.ts';

/** What generation needs of a tokenizer; Hearth's Tokenizer has all of it. */
export type GenerationTokenizer = Pick<Tokenizer, 'encode' | 'decode'> &
  Partial<Pick<Tokenizer, 'createStreamDecoder' | 'eosTokenId' | 'eosTokenIds' | 'specialTokenIds' | 'unknownTokenId'>>;

/**
 * A stream decoder made from decode() alone, for tokenizers without their own: it decodes the whole pending
 * run and holds it back while it ends in U+FFFD (an incomplete character). Quadratic in a long run of
 * incomplete bytes, which real text never has.
 */
export function decodeBasedStreamDecoder(decode: (ids: ArrayLike<number>) => string): StreamDecoder {
  let pending: number[] = [];
  return {
    push(id) {
      pending.push(id);
      const text = decode(pending);
      if (text.endsWith('\uFFFD')) return '';
      pending = [];
      return text;
    },
    flush() {
      const text = pending.length ? decode(pending) : '';
      pending = [];
      return text;
    },
  };
}

/** One sequence's text so far and the decoder that extends it. */
export class SequenceStreamer {
  private readonly decoder: StreamDecoder;
  text = '';

  /** `context`: the prompt's ids, which the streamed text follows (see Tokenizer.createStreamDecoder) */
  constructor(tokenizer: GenerationTokenizer, context: readonly number[] = []) {
    this.decoder = tokenizer.createStreamDecoder
      ? tokenizer.createStreamDecoder(context)
      : decodeBasedStreamDecoder((ids) => tokenizer.decode(ids));
  }

  /** The text this token completes ('' while a character is still incomplete). */
  push(token: number): string {
    const piece = this.decoder.push(token);
    this.text += piece;
    return piece;
  }

  /** Whatever was held back, at the end of the sequence. */
  flush(): string {
    const piece = this.decoder.flush();
    this.text += piece;
    return piece;
  }
}
