// Character-level tokenizer: one id per Unicode code point seen in the data (so an emoji is one
// token, not two UTF-16 halves), plus <|unk|> for characters the data never showed and
// <|endoftext|> to join documents. Ids follow code point order; the two special tokens come last.
import { makeSpecialSplitter, safeCutIndex } from './byte_level.ts';
import { END_OF_TEXT } from './bpe_tokenizer.ts';
import { cuttingChunkEncoder } from './chunked.ts';
import { checkIdsFit, FileField } from './errors.ts';
import { charLevelJson, type TokenizerJson } from './tokenizer_json.ts';
import type { ChunkEncoder, DecodeOptions, StreamDecoder, Tokenizer, TokenizerSummary } from './types.ts';

export const UNKNOWN = '<|unk|>';

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly eosTokenIds: readonly number[];
  readonly specialTokenIds: ReadonlySet<number>;
  readonly summary: TokenizerSummary;
  readonly unknownTokenId: number;
  /** text per id: characters, then <|unk|>, then <|endoftext|> */
  readonly tokens: readonly string[];
  private readonly idOfCodePoint = new Map<number, number>();
  private readonly splitSpecial;

  /** @param chars distinct single code points, in id order */
  constructor(chars: readonly string[]) {
    this.tokens = [...chars, UNKNOWN, END_OF_TEXT];
    chars.forEach((c, id) => {
      const cp = c.codePointAt(0)!;
      if (String.fromCodePoint(cp) !== c) throw new Error(`"${c}" is not a single character`);
      if (this.idOfCodePoint.has(cp)) throw new Error(`character "${c}" appears twice in the vocabulary`);
      this.idOfCodePoint.set(cp, id);
    });
    this.unknownTokenId = chars.length;
    this.eosTokenId = chars.length + 1;
    this.specialTokenIds = new Set([this.unknownTokenId, this.eosTokenId]);
    this.vocabSize = chars.length + 2;
    this.eosTokenIds = [this.eosTokenId];
    this.summary = {
      model: 'characters',
      vocabSize: this.vocabSize,
      special: [
        { role: 'eos', content: END_OF_TEXT, id: this.eosTokenId },
        { role: 'unk', content: UNKNOWN, id: this.unknownTokenId },
      ],
      eosTokenIds: [this.eosTokenId],
      addedTokens: 2,
      chatTemplate: false,
      maxLength: null,
    };
    this.splitSpecial = makeSpecialSplitter(
      new Map([
        [UNKNOWN, this.unknownTokenId],
        [END_OF_TEXT, this.eosTokenId],
      ]),
    );
  }

  /**
   * Reads the tokenizer.json that toTokenizerJson writes: the characters take ids 0 to n-1, then <|unk|> and
   * <|endoftext|> (in the vocabulary or in added_tokens alone). No id may reach past the tokens the file lists.
   */
  static fromJson(source: string | TokenizerJson): CharTokenizer {
    const json: TokenizerJson = typeof source === 'string' ? JSON.parse(source) : source;
    if (json.model?.type !== 'WordLevel') throw new Error(`not a character tokenizer.json (model ${json.model?.type})`);
    const field = new FileField('tokenizer.json', 'model.vocab');
    const vocab: unknown = json.model.vocab;
    if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab))
      throw field.error('must be an object of character -> id');
    const entries = Object.entries(vocab as Record<string, unknown>);
    const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
    const listed = entries.length + added.length;
    checkIdsFit(entries, listed, field);
    checkIdsFit(
      added.map((a) => [String(a?.content), a?.id] as const),
      listed,
      new FileField('tokenizer.json', 'added_tokens'),
    );
    const chars: (string | undefined)[] = new Array(listed).fill(undefined);
    let count = 0;
    for (const [t, id] of entries as [string, number][]) {
      if (t === UNKNOWN || t === END_OF_TEXT) continue;
      if (chars[id] !== undefined)
        throw field.error(`${JSON.stringify(chars[id])} and ${JSON.stringify(t)} share id ${id}`);
      chars[id] = t;
      count++;
    }
    if (count === 0) throw field.error('holds no characters: every character would read as <|unk|>');
    if (chars.findIndex((c) => c === undefined) !== count)
      throw field.error('the characters must take the first ids, without gaps');
    const specials = [...entries, ...added.map((a) => [a.content, a.id] as const)];
    for (const [t, id] of specials) {
      const wanted = t === UNKNOWN ? count : t === END_OF_TEXT ? count + 1 : id;
      if (id !== wanted) throw field.error(`${t} has id ${id}; after ${count} characters it must be ${wanted}`);
    }
    return new CharTokenizer(chars.slice(0, count) as string[]);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    this.splitSpecial(
      text,
      (part) => {
        for (let i = 0; i < part.length; i++) {
          const cp = part.codePointAt(i)!;
          if (cp > 0xffff) i++;
          out.push(this.idOfCodePoint.get(cp) ?? this.unknownTokenId);
        }
      },
      (id) => out.push(id),
    );
    return out;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    let s = '';
    for (let i = 0; i < ids.length; i++)
      if (!(options.skipSpecialTokens && this.specialTokenIds.has(ids[i]))) s += this.tokens[ids[i]] ?? '';
    return s;
  }

  createStreamDecoder(): StreamDecoder {
    // Every token is whole characters, so nothing needs holding back.
    return { push: (id) => this.tokens[id] ?? '', flush: () => '' };
  }

  createChunkEncoder(): ChunkEncoder {
    return cuttingChunkEncoder(safeCutIndex, (text) => this.encode(text));
  }

  toTokenizerJson(): string {
    return charLevelJson(
      this.tokens,
      [
        { id: this.unknownTokenId, content: UNKNOWN },
        { id: this.eosTokenId, content: END_OF_TEXT },
      ],
      UNKNOWN,
    );
  }
}

/** Collects the distinct code points of streamed text (chunks may end anywhere). */
export class CharCollector {
  readonly codePoints = new Set<number>();
  add(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      this.codePoints.add(cp);
    }
  }
  tokenizer(): CharTokenizer {
    return new CharTokenizer([...this.codePoints].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp)));
  }
}

/** A character tokenizer covering every character of the given texts. */
export function charTokenizerFrom(...texts: string[]): CharTokenizer {
  const collector = new CharCollector();
  for (const t of texts) collector.add(t.split(END_OF_TEXT).join(''));
  return collector.tokenizer();
}
