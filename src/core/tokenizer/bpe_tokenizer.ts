// Byte-level BPE (GPT-2's scheme) read from Hugging Face's files: encodes and decodes as Hugging
// Face's GPT-2 tokenizer does. tokenizers.js would serve for correctness, but it works on strings
// token by token and is several times slower than this on the megabytes a training set holds.
import { makeSpecialSplitter, safeCutIndex, tokenTextToBytes } from './byte_level.ts';
import { gpt2PieceEnd } from './pretokenize.ts';
import { BpeModel } from './bpe_model.ts';
import { cuttingChunkEncoder } from './chunked.ts';
import { checkIdsFit, FileField } from './errors.ts';
import { TokenTable } from './token_table.ts';
import { byteLevelBpeJson, parseMerges, type TokenizerJson } from './tokenizer_json.ts';
import type { ChunkEncoder, DecodeOptions, StreamDecoder, Tokenizer, TokenizerSummary } from './types.ts';

export const END_OF_TEXT = '<|endoftext|>';

export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly eosTokenIds: readonly number[];
  readonly specialTokenIds: ReadonlySet<number>;
  readonly summary: TokenizerSummary;
  /** vocabulary text per id ("Ġthe"; special tokens as written) */
  readonly tokens: readonly string[];
  readonly merges: readonly (readonly [string, string])[];
  readonly specialTokens: ReadonlyMap<string, number>;
  /** every token's bytes end to end; token id's are allBytes[byteStart[id] .. byteStart[id + 1]) */
  private readonly allBytes: Uint8Array;
  private readonly byteStart: Int32Array;
  private readonly model: BpeModel;
  private readonly splitSpecial;
  private readonly encoder = new TextEncoder();
  private readonly sourceJson: string | undefined;

  /**
   * @param tokens vocabulary text per id (dense: every id from 0 has one)
   * @param merges in priority order
   * @param specialTokens content -> id; must include <|endoftext|> (or name eos)
   * @param sourceJson the tokenizer.json this came from, returned as is by toTokenizerJson
   */
  constructor(
    tokens: readonly string[],
    merges: readonly (readonly [string, string])[],
    specialTokens: ReadonlyMap<string, number>,
    options: { eos?: string; sourceJson?: string; eosTokenIds?: readonly number[] } = {},
  ) {
    this.tokens = tokens;
    this.merges = merges;
    this.specialTokens = specialTokens;
    this.vocabSize = tokens.length;
    this.sourceJson = options.sourceJson;
    const eos = specialTokens.get(options.eos ?? END_OF_TEXT);
    if (eos === undefined) throw new Error(`the tokenizer has no ${options.eos ?? END_OF_TEXT} token`);
    this.eosTokenId = eos;
    this.eosTokenIds = options.eosTokenIds?.length ? options.eosTokenIds : [eos];
    this.specialTokenIds = new Set(specialTokens.values());
    this.summary = {
      model: 'byte-level BPE',
      vocabSize: this.vocabSize,
      special: [{ role: 'eos', content: tokens[eos], id: eos }],
      eosTokenIds: [...this.eosTokenIds],
      addedTokens: specialTokens.size,
      chatTemplate: false,
      maxLength: null,
    };

    // One byte array for the whole vocabulary: 50,000 small typed arrays cost more to allocate
    // and collect than the rest of loading together.
    const idOf = new TokenTable(tokens.length);
    const specialIds = new Set(specialTokens.values());
    this.byteStart = new Int32Array(tokens.length + 1);
    let total = 0;
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id];
      if (t === undefined) throw new Error(`the vocabulary has no token with id ${id}`);
      total += specialIds.has(id) ? this.encoder.encode(t).length : t.length;
    }
    this.allBytes = new Uint8Array(total);
    let at = 0;
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id];
      idOf.set(t, id);
      this.byteStart[id] = at;
      if (specialIds.has(id)) {
        const b = this.encoder.encode(t);
        this.allBytes.set(b, at);
        at += b.length;
      } else {
        at += tokenTextToBytes(t, this.allBytes, at);
      }
    }
    this.byteStart[tokens.length] = at;
    const field = new FileField('tokenizer.json', 'model');
    this.model = new BpeModel({ vocab: idOf, merges, byteLevel: true, field });
    const missing = this.model.missingByte();
    if (missing !== undefined)
      throw field.at('vocab').error(`not a byte-level vocabulary: byte ${missing} has no token`);
    this.splitSpecial = makeSpecialSplitter(specialTokens);
  }

  /** Reads a Hugging Face tokenizer.json with a byte-level BPE model. */
  static fromJson(
    source: string | TokenizerJson,
    sourceText?: string,
    options: { eosTokenIds?: readonly number[] } = {},
  ): ByteLevelBpeTokenizer {
    const json: TokenizerJson = typeof source === 'string' ? JSON.parse(source) : source;
    sourceText ??= typeof source === 'string' ? source : undefined;
    if (json.model?.type !== undefined && json.model.type !== 'BPE')
      throw new Error(`not a BPE tokenizer.json (model ${json.model.type})`);
    const vocab = json.model.vocab;
    const vocabEntries = Object.entries(vocab);
    const declared = vocabEntries.length + (json.added_tokens?.length ?? 0);
    checkIdsFit(vocabEntries, declared, new FileField('tokenizer.json', 'model.vocab'));
    checkIdsFit(
      (json.added_tokens ?? []).filter((a) => a.id !== undefined).map((a) => [a.content ?? '', a.id] as const),
      declared,
      new FileField('tokenizer.json', 'added_tokens'),
    );
    const tokens: string[] = [];
    for (const t in vocab) tokens[vocab[t]] = t;
    const special = new Map<string, number>();
    for (const a of json.added_tokens ?? []) {
      if (a.content === undefined || a.id === undefined) continue;
      tokens[a.id] = a.content;
      special.set(a.content, a.id);
    }
    const merges = parseMerges(json.model.merges ?? []);
    return new ByteLevelBpeTokenizer(tokens, merges, special, { sourceJson: sourceText, ...options });
  }

  /** Reads the older pair of files (vocab.json + merges.txt), as GPT2Tokenizer does. */
  static fromVocabAndMerges(vocabJson: string, mergesTxt: string): ByteLevelBpeTokenizer {
    const vocab: Record<string, number> = JSON.parse(vocabJson);
    const entries = Object.entries(vocab);
    checkIdsFit(entries, entries.length, new FileField('vocab.json', ''));
    const tokens: string[] = [];
    for (const [t, id] of entries) tokens[id] = t;
    const special = new Map<string, number>();
    const eos = vocab[END_OF_TEXT];
    if (eos !== undefined) special.set(END_OF_TEXT, eos);
    return new ByteLevelBpeTokenizer(tokens, parseMerges(mergesTxt.split(/\r?\n/)), special);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    this.splitSpecial(
      text,
      (part) => this.encodeOrdinary(part, out),
      (id) => out.push(id),
    );
    return out;
  }

  /** Encodes text that holds no special tokens, appending to `out`. */
  encodeOrdinary(text: string, out: number[]): void {
    for (let start = 0, end: number; start < text.length; start = end) {
      end = gpt2PieceEnd(text, start);
      this.model.encode(text, start, end, out);
    }
  }

  /** The bytes a token stands for (a special token's UTF-8 text); undefined outside the vocabulary. */
  bytesOf(id: number): Uint8Array | undefined {
    if (!(id >= 0 && id < this.vocabSize)) return undefined;
    return this.allBytes.subarray(this.byteStart[id], this.byteStart[id + 1]);
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (options.skipSpecialTokens) ids = Array.from(ids).filter((id) => !this.specialTokenIds.has(id));
    const { allBytes, byteStart, vocabSize } = this;
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id >= 0 && id < vocabSize) length += byteStart[id + 1] - byteStart[id];
    }
    const out = new Uint8Array(length);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < vocabSize)) continue; // as Hugging Face: unknown ids are skipped
      for (let k = byteStart[id]; k < byteStart[id + 1]; k++) out[at++] = allBytes[k];
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(out);
  }

  createStreamDecoder(): StreamDecoder {
    // TextDecoder's stream mode holds back an incomplete character until its last byte arrives
    // and replaces impossible sequences with U+FFFD as soon as they are seen.
    const td = new TextDecoder('utf-8', { ignoreBOM: true });
    const empty = new Uint8Array(0);
    return {
      push: (id) => td.decode(this.bytesOf(id) ?? empty, { stream: true }),
      flush: () => td.decode(),
    };
  }

  createChunkEncoder(): ChunkEncoder {
    return cuttingChunkEncoder(safeCutIndex, (text) => this.encode(text));
  }

  toTokenizerJson(): string {
    if (this.sourceJson !== undefined) return this.sourceJson;
    const special = [...this.specialTokens].map(([content, id]) => ({ id, content }));
    return byteLevelBpeJson(this.tokens, this.merges, special);
  }
}
