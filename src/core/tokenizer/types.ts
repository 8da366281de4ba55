// The tokenizer interface that the trainer, the CLI, the page and checkpoints use.

/** How a tokenizer splits text: byte-pair encoding (any of its flavours) or one token per character. */
export type TokenizerKind = 'bpe' | 'char';

/** Turns token ids back into text as they arrive, holding back bytes of an unfinished character. */
export interface StreamDecoder {
  /** Text completed by this token (often '', or more than the token when it finishes a character). Never throws. */
  push(id: number): string;
  /** Whatever is still held back; an incomplete character comes out as U+FFFD. */
  flush(): string;
}

/** Encodes text that arrives in chunks (a streamed file) to the ids the whole text would give. */
export interface ChunkEncoder {
  /** ids of the text pushed so far, up to where more text cannot change them */
  push(chunk: string): number[];
  /** the remaining ids */
  finish(): number[];
}

export interface EncodeOptions {
  /** add what the model's template adds around a text (Llama's BOS); default true, as in Hugging Face */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** leave out special tokens */
  skipSpecialTokens?: boolean;
  /** transformers' clean_up_tokenization (" ." to "."); default: what tokenizer_config.json says */
  cleanUpTokenizationSpaces?: boolean;
}

/** What the page and the CLI show about a tokenizer. */
export interface TokenizerSummary {
  /** "byte-level BPE", "SentencePiece-style BPE (byte fallback)", "characters" */
  model: string;
  vocabSize: number;
  /** bos, eos, pad, unk as the tokenizer names them, with their ids */
  special: { role: string; content: string; id: number }[];
  /** every id that ends generation */
  eosTokenIds: number[];
  addedTokens: number;
  chatTemplate: boolean;
  /** tokenizer_config.json's model_max_length; null when it sets none */
  maxLength: number | null;
}

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids, special tokens included: the model's embedding needs at least this many rows. */
  readonly vocabSize: number;
  /** The end-of-text token: joins documents in training data and ends generation. */
  readonly eosTokenId: number;
  /** Every id that ends generation (generation_config.json may list several); eosTokenId among them. */
  readonly eosTokenIds: readonly number[];
  /** Ids of special tokens (end-of-text, a char vocabulary's <|unk|>, added tokens): generated text leaves them out. */
  readonly specialTokenIds: ReadonlySet<number>;
  /** The id that text outside the vocabulary becomes, for tokenizers that have one (a char vocabulary's <|unk|>). */
  readonly unknownTokenId?: number;
  readonly summary: TokenizerSummary;
  /** Special tokens written in the text (such as "<|endoftext|>") become their ids, as in Hugging Face. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Never throws: bytes that do not form UTF-8 become U+FFFD; ids outside the vocabulary are skipped. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /**
   * `context`: ids already shown before the streamed ones (a prompt), decoded with them where the decoder treats the
   * first token specially (SentencePiece's leading space, stripped at the start of a text but not after a prompt).
   */
  createStreamDecoder(context?: readonly number[]): StreamDecoder;
  /** For training data: encodes a text streamed in chunks without the template's special tokens. */
  createChunkEncoder(): ChunkEncoder;
  /** The tokenizer as a Hugging Face tokenizer.json. */
  toTokenizerJson(): string;
}

/** Its special tokens by role: "bos <s> (1), eos </s> (2)". */
export function describeSpecialTokens(s: TokenizerSummary): string {
  return s.special.map((t) => `${t.role} ${t.content} (${t.id})`).join(', ');
}

/** One line about a tokenizer: "byte-level BPE, 50,257 tokens; eos <|endoftext|> (50256)". */
export function describeTokenizer(s: TokenizerSummary): string {
  const special = describeSpecialTokens(s);
  const extraEos = s.eosTokenIds.filter((id) => !s.special.some((t) => t.role === 'eos' && t.id === id));
  const parts = [`${s.model}, ${s.vocabSize.toLocaleString('en-US')} tokens`];
  if (special) parts.push(special);
  if (extraEos.length) parts.push(`generation also stops at ${extraEos.join(', ')}`);
  if (s.chatTemplate) parts.push('chat template');
  return parts.join('; ');
}
