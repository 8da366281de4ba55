// Character-level tokenizer: one id per Unicode code point seen in the data (so an emoji is one
// token, not two UTF-16 halves), plus <|unk|> for characters the data never showed and
// <|endoftext|> to join documents. Ids follow code point order; the two special tokens come last.
import { makeSpecialSplitter, safeCutIndex } from './byte_level.ts';
import { END_OF_TEXT } from './bpe_tokenizer.ts';
import { cuttingChunkEncoder } from './chunked.ts';
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

  /** Reads the tokenizer.json that toTokenizerJson writes. */
  static fromJson(source: string | TokenizerJson): CharTokenizer {
    const json: TokenizerJson = typeof source === 'string' ? JSON.parse(source) : source;
    if (json.model?.type !== 'WordLevel') throw new Error(`not a character tokenizer.json (model ${json.model?.type})`);
    const chars: string[] = [];
    for (const [t, id] of Object.entries(json.model.vocab)) if (t !== UNKNOWN && t !== END_OF_TEXT) chars[id] = t;
    const dense = chars.filter((c) => c !== undefined);
    if (dense.length !== chars.length)
      throw new Error('character tokenizer.json: character ids must come first, without gaps');
    return new CharTokenizer(dense);
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
