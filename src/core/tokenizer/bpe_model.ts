// The BPE model of a tokenizer.json, both flavours causal LMs use: byte-level (GPT-2, Llama 3, Qwen: a piece's
// UTF-8 bytes are the starting symbols) and SentencePiece-style (Llama 2, Gemma: characters are the starting
// symbols, `byte_fallback` spells unknown ones as <0xNN> tokens, `fuse_unk` joins runs of unknown ones), with
// `ignore_merges`, `continuing_subword_prefix` and `end_of_word_suffix`, as the Rust library's merge_word does.
// Merging works on ids with the shared merge loop; pieces already seen come from a cache.
import { BYTE_TO_CHAR, bytesToTokenText } from './byte_level.ts';
import { mergePiece, PairRanks, type MergeTable } from './bpe_merge.ts';
import { checkIdsFit, MAX_TOKEN_IDS, type FileField } from './errors.ts';
import { PieceCache } from './pretokenize.ts';
import { TokenTable } from './token_table.ts';

type Json = Record<string, unknown>;

/** A BPE model's settings, named as in tokenizer.json; `field` is where errors point. */
export interface BpeConfig {
  vocab: TokenTable;
  /** in priority order: "a b" strings (older files) or [a, b] pairs */
  merges: readonly (string | readonly [string, string])[];
  byteLevel: boolean;
  field: FileField;
  unkToken?: string | null;
  fuseUnk?: boolean;
  byteFallback?: boolean;
  continuingSubwordPrefix?: string;
  endOfWordSuffix?: string;
  ignoreMerges?: boolean;
  /**
   * The character a space becomes ("▁" in SentencePiece files): pieces are cut before it into words merged
   * apart, which is exact where no merge result holds the character before the cut followed by it (the
   * characters that do are remembered and no cut follows them). A whole sentence then merges word by word,
   * through the cache, instead of as one long piece.
   */
  wordCutBefore?: string;
}

/** Pieces longer than this are merged without the cache (the Rust library's limit too). */
const CACHE_BELOW = 256;
const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;

export class BpeModel {
  /** token text -> id, the model's own vocabulary (added tokens are the tokenizer's) */
  readonly vocab: TokenTable;
  readonly byteLevel: boolean;
  readonly unkToken: string | null;
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: Int32Array | null;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly ignoreMerges: boolean;
  private readonly table: MergeTable;
  private readonly byteIds: Int32Array | null;
  private readonly charIds = new Map<number, number>();
  private readonly cache = new PieceCache();
  private readonly encoder = new TextEncoder();
  private bytes = new Uint8Array(1024);
  private symbols = new Int32Array(1024);
  /** code unit that pieces are cut before (-1: no cuts), and the code units no cut may follow */
  private readonly cutBefore: number;
  private readonly bridged = new Set<number>();

  constructor(c: BpeConfig) {
    const { vocab, field } = c;
    this.byteLevel = c.byteLevel;
    if (vocab.size === 0) throw field.at('vocab').error('is empty: a tokenizer needs at least one token');
    this.vocab = vocab;
    this.unkToken = c.unkToken ?? null;
    this.unkId = this.unkToken === null ? -1 : (vocab.get(this.unkToken) ?? -1);
    this.fuseUnk = c.fuseUnk ?? false;
    const prefix = (this.prefix = c.continuingSubwordPrefix ?? '');
    this.suffix = c.endOfWordSuffix ?? '';
    this.ignoreMerges = c.ignoreMerges ?? false;
    if (c.byteFallback) {
      this.byteFallback = new Int32Array(256);
      for (let b = 0; b < 256; b++)
        this.byteFallback[b] = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    } else this.byteFallback = null;

    const space = c.wordCutBefore ?? '';
    let cutBefore =
      space.length === 1 && vocab.has(space) && !prefix && !this.suffix && !this.ignoreMerges && !this.byteLevel
        ? space.charCodeAt(0)
        : -1;
    const bridge = (t: string, start: number, end: number, before: number) => {
      for (let k = start; k < end; k++) {
        if (t.charCodeAt(k) === cutBefore && (k > start || before >= 0))
          this.bridged.add(k > start ? t.charCodeAt(k - 1) : before);
      }
    };

    const { merges } = c;
    const mergesField = field.at('merges');
    const rankOf = new PairRanks(merges.length);
    const mergedId = new Int32Array(merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const m = merges[rank];
      let a: string;
      let b: string;
      const aStart = 0;
      let aEnd: number;
      let bStart = 0;
      if (typeof m === 'string') {
        // "a b": tokens never hold a space in files of this form, so the first space splits.
        const space = m.indexOf(' ', 1);
        if (space < 0) throw mergesField.at(rank).error(`${JSON.stringify(m)} is not two tokens separated by a space`);
        a = b = m;
        aEnd = space;
        bStart = space + 1;
      } else {
        if (!Array.isArray(m) || m.length !== 2 || typeof m[0] !== 'string' || typeof m[1] !== 'string')
          throw mergesField.at(rank).error(`${JSON.stringify(m)} is not a pair of tokens`);
        [a, b] = m;
        aEnd = a.length;
      }
      const bEnd = b.length;
      const ia = vocab.getRange(a, aStart, aEnd);
      const ib = vocab.getRange(b, bStart, bEnd);
      // The merged token drops the second part's continuing_subword_prefix.
      const skip = prefix && b.startsWith(prefix, bStart) ? prefix.length : 0;
      const im = vocab.getJoined(a, aStart, aEnd, b, bStart + skip, bEnd);
      if (ia < 0 || ib < 0 || im < 0) {
        const [x, y] = [a.slice(aStart, aEnd), b.slice(bStart, bEnd)];
        const missing = ia < 0 ? x : ib < 0 ? y : x + y.slice(skip);
        throw mergesField
          .at(rank)
          .error(`the merge ${JSON.stringify(`${x} ${y}`)} names ${JSON.stringify(missing)}, which model.vocab lacks`);
      }
      rankOf.setIfAbsent(ia, ib, rank);
      mergedId[rank] = im;
      if (cutBefore >= 0) {
        // Byte tokens that merge would make cuts inexact (they spell characters of their own).
        if (
          (a.charCodeAt(aStart) === 0x3c && BYTE_TOKEN.test(a.slice(aStart, aEnd))) ||
          (b.charCodeAt(bStart) === 0x3c && BYTE_TOKEN.test(b.slice(bStart, bEnd)))
        )
          cutBefore = -1;
        bridge(a, aStart, aEnd, -1);
        bridge(b, bStart + skip, bEnd, aEnd > aStart ? a.charCodeAt(aEnd - 1) : -1);
      }
    }
    this.table = { rankOf, mergedId };
    this.cutBefore = cutBefore;

    if (this.byteLevel) {
      const ids = new Int32Array(256);
      let all = true;
      for (let b = 0; b < 256; b++) {
        const id = vocab.get(BYTE_TO_CHAR[b]);
        ids[b] = id ?? -1;
        if (id === undefined) all = false;
      }
      this.byteIds = all ? ids : null;
    } else this.byteIds = null;
  }

  /** A byte-level vocabulary missing one of the 256 byte tokens, or undefined when it has them all. */
  missingByte(): number | undefined {
    if (!this.byteLevel || this.byteIds) return undefined;
    for (let b = 0; b < 256; b++) if (!this.vocab.has(BYTE_TO_CHAR[b])) return b;
    return undefined;
  }

  static fromJson(json: unknown, byteLevel: boolean, field: FileField, wordCutBefore?: string): BpeModel {
    const m = json as Json | null;
    if (m === null || typeof m !== 'object') throw field.error('missing: a tokenizer.json needs a model');
    const type = m.type ?? (m.merges !== undefined ? 'BPE' : undefined);
    if (type !== 'BPE')
      throw field
        .at('type')
        .error(
          `the model ${JSON.stringify(type ?? null)} is not supported (Hearth reads BPE, and its own character WordLevel format)`,
        );
    const vocabJson = m.vocab;
    if (vocabJson === null || typeof vocabJson !== 'object' || Array.isArray(vocabJson))
      throw field.at('vocab').error('must be an object of token -> id');
    const entries = vocabJson as Record<string, unknown>;
    const keys = Object.keys(entries);
    checkIdsFit(Object.entries(entries), MAX_TOKEN_IDS, field.at('vocab'));
    const vocab = new TokenTable(keys.length);
    for (const token of keys) vocab.set(token, entries[token] as number);
    const dropout = m.dropout;
    if (dropout !== null && dropout !== undefined && dropout !== 0)
      throw field.at('dropout').error(`BPE dropout (${dropout}) makes encoding random; Hearth encodes without it`);
    const unk = m.unk_token ?? null;
    if (unk !== null && typeof unk !== 'string') throw field.at('unk_token').error('must be a string or null');
    const merges = m.merges ?? [];
    if (!Array.isArray(merges)) throw field.at('merges').error('must be a list');
    return new BpeModel({
      vocab,
      merges,
      byteLevel,
      field,
      unkToken: unk,
      fuseUnk: m.fuse_unk === true,
      byteFallback: m.byte_fallback === true,
      continuingSubwordPrefix: typeof m.continuing_subword_prefix === 'string' ? m.continuing_subword_prefix : '',
      endOfWordSuffix: typeof m.end_of_word_suffix === 'string' ? m.end_of_word_suffix : '',
      ignoreMerges: m.ignore_merges === true,
      wordCutBefore,
    });
  }

  /** Whether a cut between these two characters of normalized text never changes the merges. */
  canCutBetween(before: number, after: number): boolean {
    return this.cutBefore >= 0 && after === this.cutBefore && !this.bridged.has(before);
  }

  /** Appends the ids of text[start, end), one pre-tokenized piece. */
  encode(text: string, start: number, end: number, out: number[]): void {
    if (this.cutBefore < 0) {
      this.encodeWord(text, start, end, out);
      return;
    }
    let from = start;
    for (let i = start + 1; i < end; i++) {
      if (text.charCodeAt(i) === this.cutBefore && !this.bridged.has(text.charCodeAt(i - 1))) {
        this.encodeWord(text, from, i, out);
        from = i;
      }
    }
    this.encodeWord(text, from, end, out);
  }

  private encodeWord(text: string, start: number, end: number, out: number[]): void {
    if (end - start >= CACHE_BELOW) {
      this.mergeWord(text.slice(start, end), out);
      return;
    }
    const hash = PieceCache.hash(text, start, end);
    if (this.cache.lookup(text, start, end, hash, out)) return;
    const first = out.length;
    this.mergeWord(text.slice(start, end), out);
    this.cache.set(text, start, end, hash, out, first);
  }

  private ensure(n: number): void {
    if (this.symbols.length < n) this.symbols = new Int32Array(n * 2);
  }

  private mergeWord(piece: string, out: number[]): void {
    if (piece.length === 0) return;
    if (this.byteLevel) {
      if (this.bytes.length < piece.length * 3) this.bytes = new Uint8Array(piece.length * 6);
      const n = this.encoder.encodeInto(piece, this.bytes).written;
      if (this.ignoreMerges) {
        const whole = this.vocab.get(bytesToTokenText(this.bytes.subarray(0, n)));
        if (whole !== undefined) {
          out.push(whole);
          return;
        }
      }
      if (this.byteIds) {
        this.ensure(n);
        for (let i = 0; i < n; i++) this.symbols[i] = this.byteIds[this.bytes[i]];
        mergePiece(this.table, this.symbols, n, out);
        return;
      }
      // A byte-level vocabulary missing some bytes: its characters go the general way.
      this.mergeChars(bytesToTokenText(this.bytes.subarray(0, n)), out);
      return;
    }
    if (this.ignoreMerges) {
      const whole = this.vocab.get(piece);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    this.mergeChars(piece, out);
  }

  /** merge_word: one symbol per character (prefix, suffix, byte fallback, unknown), then the merges. */
  private mergeChars(word: string, out: number[]): void {
    this.ensure(word.length * 4 + 4);
    const symbols = this.symbols;
    let n = 0;
    let pendingUnk = false;
    const plain = !this.prefix && !this.suffix;
    for (let i = 0; i < word.length;) {
      const cp = word.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      let s: string | null = null;
      let id: number | undefined;
      if (plain) {
        id = this.charIds.get(cp);
        if (id === undefined) {
          id = this.vocab.get(String.fromCodePoint(cp)) ?? -1;
          this.charIds.set(cp, id);
        }
      } else {
        s = String.fromCodePoint(cp);
        if (i > 0) s = this.prefix + s;
        if (i + w === word.length) s += this.suffix;
        id = this.vocab.get(s) ?? -1;
      }
      i += w;
      if (id >= 0) {
        if (pendingUnk) symbols[n++] = this.unkId;
        pendingUnk = false;
        symbols[n++] = id;
        continue;
      }
      if (this.byteFallback) {
        const bytes = this.encoder.encode(s ?? String.fromCodePoint(cp));
        let all = true;
        for (const b of bytes) if (this.byteFallback[b] < 0) all = false;
        if (all) {
          for (const b of bytes) symbols[n++] = this.byteFallback[b];
          continue;
        }
      }
      if (this.unkId >= 0) {
        if (pendingUnk && !this.fuseUnk) symbols[n++] = this.unkId;
        pendingUnk = true;
      }
    }
    if (pendingUnk) symbols[n++] = this.unkId;
    mergePiece(this.table, symbols, n, out);
  }
}
