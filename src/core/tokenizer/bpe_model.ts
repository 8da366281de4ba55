// The BPE model of a tokenizer.json, both flavours causal LMs use: byte-level (GPT-2, Llama 3, Qwen: a piece's
// UTF-8 bytes are the starting symbols) and SentencePiece-style (Llama 2, Gemma: characters are the starting
// symbols, `byte_fallback` spells unknown ones as <0xNN> tokens, `fuse_unk` joins runs of unknown ones), with
// `ignore_merges`, `continuing_subword_prefix` and `end_of_word_suffix`, as the Rust library's merge_word does.
// Merging works on ids with the shared merge loop; pieces already seen come from a cache.
import { BYTE_TO_CHAR, bytesToTokenText } from './byte_level.ts';
import { mergePiece, PairRanks, type MergeTable } from './bpe_merge.ts';
import type { FileField } from './errors.ts';
import { PieceCache } from './pretokenize.ts';

type Json = Record<string, unknown>;

/** A BPE model's settings, named as in tokenizer.json; `field` is where errors point. */
export interface BpeConfig {
  vocab: ReadonlyMap<string, number>;
  /** in priority order */
  merges: readonly (readonly [string, string])[];
  byteLevel: boolean;
  field: FileField;
  unkToken?: string | null;
  fuseUnk?: boolean;
  byteFallback?: boolean;
  continuingSubwordPrefix?: string;
  endOfWordSuffix?: string;
  ignoreMerges?: boolean;
}

/** Pieces longer than this are merged without the cache (the Rust library's limit too). */
const CACHE_BELOW = 256;
const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;

export class BpeModel {
  /** token text -> id, the model's own vocabulary (added tokens are the tokenizer's) */
  readonly vocab: ReadonlyMap<string, number>;
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
  /** code unit before which a piece may be cut into words merged apart (see wordCut) */
  private cutBefore = -1;
  private bridged: ReadonlySet<number> = new Set();

  constructor(c: BpeConfig) {
    const { vocab, field } = c;
    this.byteLevel = c.byteLevel;
    if (vocab.size === 0) throw field.at('vocab').error('is empty: a tokenizer needs at least one token');
    this.vocab = vocab;
    this.unkToken = c.unkToken ?? null;
    this.unkId = this.unkToken === null ? -1 : (vocab.get(this.unkToken) ?? -1);
    this.fuseUnk = c.fuseUnk ?? false;
    this.prefix = c.continuingSubwordPrefix ?? '';
    this.suffix = c.endOfWordSuffix ?? '';
    this.ignoreMerges = c.ignoreMerges ?? false;
    if (c.byteFallback) {
      this.byteFallback = new Int32Array(256);
      for (let b = 0; b < 256; b++)
        this.byteFallback[b] = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    } else this.byteFallback = null;

    const merges = c.merges;
    const mergesField = field.at('merges');
    const rankOf = new PairRanks(merges.length);
    const mergedId = new Int32Array(merges.length);
    let byteTokenMerges = false;
    const results: string[] = [];
    for (let rank = 0; rank < merges.length; rank++) {
      const [a, b] = merges[rank];
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const merged = a + (this.prefix && b.startsWith(this.prefix) ? b.slice(this.prefix.length) : b);
      const im = vocab.get(merged);
      for (const [t, id] of [
        [a, ia],
        [b, ib],
        [merged, im],
      ] as const)
        if (id === undefined)
          throw mergesField
            .at(rank)
            .error(`the merge ${JSON.stringify(`${a} ${b}`)} names ${JSON.stringify(t)}, which model.vocab lacks`);
      rankOf.setIfAbsent(ia!, ib!, rank);
      mergedId[rank] = im!;
      if (BYTE_TOKEN.test(a) || BYTE_TOKEN.test(b)) byteTokenMerges = true;
      results.push(merged);
    }
    this.table = { rankOf, mergedId };

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

    this.mergeFree = !byteTokenMerges && !this.prefix && !this.suffix && !this.ignoreMerges && !this.byteLevel;
    this.mergeResults = results;
  }

  private readonly mergeFree: boolean;
  private mergeResults: string[] | null;

  /** A byte-level vocabulary missing one of the 256 byte tokens, or undefined when it has them all. */
  missingByte(): number | undefined {
    if (!this.byteLevel || this.byteIds) return undefined;
    for (let b = 0; b < 256; b++) if (!this.vocab.has(BYTE_TO_CHAR[b])) return b;
    return undefined;
  }

  static fromJson(json: unknown, byteLevel: boolean, field: FileField): BpeModel {
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
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(vocabJson as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0)
        throw field.at('vocab').error(`the id of ${JSON.stringify(token)} is ${JSON.stringify(id)}, not an id`);
      vocab.set(token, id as number);
    }
    const dropout = m.dropout;
    if (dropout !== null && dropout !== undefined && dropout !== 0)
      throw field.at('dropout').error(`BPE dropout (${dropout}) makes encoding random; Hearth encodes without it`);
    const unk = m.unk_token ?? null;
    if (unk !== null && typeof unk !== 'string') throw field.at('unk_token').error('must be a string or null');
    const mergesField = field.at('merges');
    const list = m.merges ?? [];
    if (!Array.isArray(list)) throw mergesField.error('must be a list');
    const merges = list.map((x: unknown, rank): [string, string] => {
      if (typeof x === 'string') {
        // "a b": tokens never hold a space in files of this form, so the first space splits.
        const space = x.indexOf(' ', 1);
        if (space >= 0) return [x.slice(0, space), x.slice(space + 1)];
      } else if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string')
        return [x[0], x[1]];
      throw mergesField.at(rank).error(`${JSON.stringify(x)} is not a pair of tokens`);
    });
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
    });
  }

  /**
   * Lets pieces be cut before `space` (the character a space normalizes to, "▁" in SentencePiece files) into
   * words merged apart, which is exact when no merge result holds the character before the cut followed by
   * `space`: the characters that do are remembered and no cut follows them. Pieces of a whole sentence then
   * merge word by word, through the cache, instead of as one long piece.
   */
  enableWordCuts(space: string): void {
    const results = this.mergeResults;
    this.mergeResults = null;
    if (!this.mergeFree || !results || space.length !== 1 || !this.vocab.has(space)) return;
    const bridged = new Set<number>();
    for (const r of results) {
      for (let k = r.indexOf(space, 1); k > 0; k = r.indexOf(space, k + 1)) bridged.add(r.codePointAt(k - 1)!);
    }
    // A low surrogate's code point is its own: astral characters before the cut compare by their low half.
    for (const cp of [...bridged]) if (cp > 0xffff) bridged.add(String.fromCodePoint(cp).charCodeAt(1));
    this.cutBefore = space.charCodeAt(0);
    this.bridged = bridged;
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
    const hit = this.cache.get(text, start, end, hash);
    if (hit !== undefined) {
      if (typeof hit === 'number') out.push(hit);
      else for (let i = 0; i < hit.length; i++) out.push(hit[i]);
      return;
    }
    const first = out.length;
    const piece = text.slice(start, end);
    this.mergeWord(piece, out);
    this.cache.set(piece, hash, out.length - first === 1 ? out[first] : out.slice(first));
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
