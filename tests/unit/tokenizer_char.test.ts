// The character tokenizer: code points (not UTF-16 units), its tokenizer.json read back by us
// and by Hugging Face's JS loader.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { charTokenizerFrom, tokenizerFromJson } from '../../src/core/tokenizer/index.ts';

const TEXT = 'hello 😀 世界\n\tend';

describe('character tokenizer', () => {
  it('gives one id per code point, sorted, with <|unk|> and <|endoftext|> last', () => {
    const tok = charTokenizerFrom(TEXT);
    const distinct = new Set(Array.from(TEXT));
    expect(tok.kind).toBe('char');
    expect(tok.vocabSize).toBe(distinct.size + 2);
    expect(tok.eosTokenId).toBe(tok.vocabSize - 1);
    expect(tok.encode('😀')).toHaveLength(1);
    expect(tok.encode(TEXT)).toHaveLength(Array.from(TEXT).length);
    expect(tok.decode(tok.encode(TEXT))).toBe(TEXT);
    expect(tok.encode('h<|endoftext|>h')).toEqual([tok.encode('h')[0], tok.eosTokenId, tok.encode('h')[0]]);
    expect(tok.encode('hz')[1]).toBe(tok.unknownTokenId);
  });

  it('streams whole characters', () => {
    const tok = charTokenizerFrom(TEXT);
    const stream = tok.createStreamDecoder();
    expect(
      tok
        .encode(TEXT)
        .map((id) => stream.push(id))
        .join('') + stream.flush(),
    ).toBe(TEXT);
    expect(tok.decode([0, 9999, -3])).toBe(tok.decode([0]));
  });

  it('writes a tokenizer.json read back to the same ids, by us and by Hugging Face', () => {
    const tok = charTokenizerFrom(TEXT);
    const json = tok.toTokenizerJson();
    const back = tokenizerFromJson(json);
    const hf = new HfTokenizer(JSON.parse(json), { unk_token: '<|unk|>' });
    for (const s of [TEXT, 'hello<|endoftext|>world', 'unknown: ZQ', '😀😀 \n']) {
      const ids = tok.encode(s);
      expect(back.encode(s)).toEqual(ids);
      expect(hf.encode(s, { add_special_tokens: false }).ids).toEqual(ids);
      expect(hf.decode(ids)).toBe(tok.decode(ids));
    }
  });
});
