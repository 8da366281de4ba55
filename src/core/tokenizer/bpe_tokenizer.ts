// Byte-level BPE (GPT-2's scheme) read from Hugging Face's files: encodes and decodes as Hugging
// Face's GPT-2 tokenizer does. tokenizers.js would serve for correctness, but it works on strings
// token by token and is several times slower than this on the megabytes a training set holds.
import { BYTE_TO_CHAR, makeSpecialSplitter, tokenTextToBytes } from './byte_level.ts';
import { gpt2PieceEnd, PieceCache } from './pretokenize.ts';
import { mergePiece, PairRanks, type MergeTable } from './bpe_merge.ts';
import { byteLevelBpeJson, parseMerges, type TokenizerJson } from './tokenizer_json.ts';
import type { StreamDecoder, Tokenizer } from './types.ts';

export const END_OF_TEXT = '<|endoftext|>';

export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly specialTokenIds: ReadonlySet<number>;
  /** vocabulary text per id ("Ġthe"; special tokens as written) */
  readonly tokens: readonly string[];
  readonly merges: readonly (readonly [string, string])[];
  readonly specialTokens: ReadonlyMap<string, number>;
  /** every token's bytes end to end; token id's are allBytes[byteStart[id] .. byteStart[id + 1]) */
  private readonly allBytes: Uint8Array;
  private readonly byteStart: Int32Array;
  private readonly byteIds = new Int32Array(256);
  private readonly table: MergeTable;
  private readonly cache = new PieceCache();
  private readonly splitSpecial;
  private readonly encoder = new TextEncoder();
  private bytes = new Uint8Array(1024);
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
    options: { eos?: string; sourceJson?: string } = {},
  ) {
    this.tokens = tokens;
    this.merges = merges;
    this.specialTokens = specialTokens;
    this.vocabSize = tokens.length;
    this.sourceJson = options.sourceJson;
    const eos = specialTokens.get(options.eos ?? END_OF_TEXT);
    if (eos === undefined) throw new Error(`the tokenizer has no ${options.eos ?? END_OF_TEXT} token`);
    this.eosTokenId = eos;
    this.specialTokenIds = new Set(specialTokens.values());

    // One byte array for the whole vocabulary: 50,000 small typed arrays cost more to allocate
    // and collect than the rest of loading together.
    const idOf = new Map<string, number>();
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
    for (let b = 0; b < 256; b++) {
      const id = idOf.get(BYTE_TO_CHAR[b]);
      if (id === undefined) throw new Error(`not a byte-level vocabulary: byte ${b} has no token`);
      this.byteIds[b] = id;
    }
    const rankOf = new PairRanks(merges.length);
    const mergedId = new Int32Array(merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const [a, b] = merges[rank];
      const ia = idOf.get(a);
      const ib = idOf.get(b);
      const im = idOf.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined)
        throw new Error(`merge "${a} ${b}" uses a token missing from the vocabulary`);
      rankOf.setIfAbsent(ia, ib, rank);
      mergedId[rank] = im;
    }
    this.table = { rankOf, mergedId };
    this.splitSpecial = makeSpecialSplitter(specialTokens);
  }

  /** Reads a Hugging Face tokenizer.json with a byte-level BPE model. */
  static fromJson(source: string | TokenizerJson, sourceText?: string): ByteLevelBpeTokenizer {
    const json: TokenizerJson = typeof source === 'string' ? JSON.parse(source) : source;
    sourceText ??= typeof source === 'string' ? source : undefined;
    if (json.model?.type !== undefined && json.model.type !== 'BPE')
      throw new Error(`not a BPE tokenizer.json (model ${json.model.type})`);
    const tokens: string[] = [];
    const vocab = json.model.vocab;
    for (const t in vocab) tokens[vocab[t]] = t;
    const special = new Map<string, number>();
    for (const a of json.added_tokens ?? []) {
      if (a.content === undefined || a.id === undefined) continue;
      tokens[a.id] = a.content;
      special.set(a.content, a.id);
    }
    const merges = parseMerges(json.model.merges ?? []);
    return new ByteLevelBpeTokenizer(tokens, merges, special, { sourceJson: sourceText });
  }

  /** Reads the older pair of files (vocab.json + merges.txt), as GPT2Tokenizer does. */
  static fromVocabAndMerges(vocabJson: string, mergesTxt: string): ByteLevelBpeTokenizer {
    const vocab: Record<string, number> = JSON.parse(vocabJson);
    const tokens: string[] = [];
    for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
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
    const cache = this.cache;
    for (let start = 0, end: number; start < text.length; start = end) {
      end = gpt2PieceEnd(text, start);
      const hash = PieceCache.hash(text, start, end);
      const hit = cache.get(text, start, end, hash);
      if (hit !== undefined) {
        if (typeof hit === 'number') out.push(hit);
        else for (let i = 0; i < hit.length; i++) out.push(hit[i]);
        continue;
      }
      const first = out.length;
      const piece = text.slice(start, end);
      this.encodePiece(piece, out);
      cache.set(piece, hash, out.length - first === 1 ? out[first] : out.slice(first));
    }
  }

  private encodePiece(piece: string, out: number[]): void {
    // A UTF-16 unit becomes at most 3 UTF-8 bytes.
    if (this.bytes.length < piece.length * 3) this.bytes = new Uint8Array(piece.length * 6);
    const n = this.encoder.encodeInto(piece, this.bytes).written;
    const bytes = this.bytes.subarray(0, n);
    const start = new Int32Array(n);
    for (let i = 0; i < n; i++) start[i] = this.byteIds[bytes[i]];
    mergePiece(this.table, start, n, out);
  }

  /** The bytes a token stands for (a special token's UTF-8 text); undefined outside the vocabulary. */
  bytesOf(id: number): Uint8Array | undefined {
    if (!(id >= 0 && id < this.vocabSize)) return undefined;
    return this.allBytes.subarray(this.byteStart[id], this.byteStart[id + 1]);
  }

  decode(ids: ArrayLike<number>): string {
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
    return new TextDecoder().decode(out);
  }

  createStreamDecoder(): StreamDecoder {
    // TextDecoder's stream mode holds back an incomplete character until its last byte arrives
    // and replaces impossible sequences with U+FFFD as soon as they are seen.
    const td = new TextDecoder();
    const empty = new Uint8Array(0);
    return {
      push: (id) => td.decode(this.bytesOf(id) ?? empty, { stream: true }),
      flush: () => td.decode(),
    };
  }

  toTokenizerJson(): string {
    if (this.sourceJson !== undefined) return this.sourceJson;
    const special = [...this.specialTokens].map(([content, id]) => ({ id, content }));
    return byteLevelBpeJson(this.tokens, this.merges, special);
  }
}
