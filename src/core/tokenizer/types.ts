// The tokenizer interface that the trainer, the CLI, the page and checkpoints use.

export type TokenizerKind = 'bpe' | 'char';

/** Turns token ids back into text as they arrive, holding back bytes of an unfinished character. */
export interface StreamDecoder {
  /** Text completed by this token (often '', or more than the token when it finishes a character). */
  push(id: number): string;
  /** Whatever is still held back; an incomplete character comes out as U+FFFD. */
  flush(): string;
}

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids, special tokens included: the model's embedding needs at least this many rows. */
  readonly vocabSize: number;
  /** <|endoftext|>: joins documents in training data and ends generation. */
  readonly eosTokenId: number;
  /** Ids of special tokens (end-of-text, a char vocabulary's <|unk|>, added tokens): generated text leaves them out. */
  readonly specialTokenIds: ReadonlySet<number>;
  /** Special tokens written in the text (such as "<|endoftext|>") become their ids, as in Hugging Face. */
  encode(text: string): number[];
  /** Never throws: bytes that do not form UTF-8 become U+FFFD; ids outside the vocabulary are skipped. */
  decode(ids: ArrayLike<number>): string;
  createStreamDecoder(): StreamDecoder;
  /** The tokenizer as a Hugging Face tokenizer.json. */
  toTokenizerJson(): string;
}
