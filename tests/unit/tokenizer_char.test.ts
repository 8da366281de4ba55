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

  it('refuses a tokenizer.json whose ids do not fit its own vocabulary, or that holds no characters', () => {
    const json = () => JSON.parse(charTokenizerFrom('ab').toTokenizerJson());
    const refused = (edit: (vocab: Record<string, number>) => void) => {
      const j = json();
      edit(j.model.vocab);
      return () => tokenizerFromJson(JSON.stringify(j));
    };
    // one id far past the rest: refused at once, not by walking four billion empty slots
    expect(refused((v) => (v.c = 4294967294))).toThrow(
      'tokenizer.json: model.vocab: the id of "c" is 4294967294, beyond the 7 tokens the file lists (ids 0 to 6)',
    );
    expect(refused((v) => (v.a = -1))).toThrow('tokenizer.json: model.vocab: the id of "a" is -1, not an id');
    expect(refused((v) => (v.a = 1.5))).toThrow('the id of "a" is 1.5, not an id');
    expect(refused((v) => (v.a = 1))).toThrow('tokenizer.json: model.vocab: "a" and "b" share id 1');
    expect(refused((v) => ([v.a, v['<|unk|>']] = [2, 0]))).toThrow(
      'tokenizer.json: model.vocab: the characters must take the first ids, without gaps',
    );
    expect(refused((v) => ([v['<|unk|>'], v['<|endoftext|>']] = [3, 2]))).toThrow(
      'tokenizer.json: model.vocab: <|unk|> has id 3; after 2 characters it must be 2',
    );
    expect(
      refused((v) => {
        delete v.a;
        delete v.b;
        [v['<|unk|>'], v['<|endoftext|>']] = [0, 1];
      }),
    ).toThrow('tokenizer.json: model.vocab: holds no characters: every character would read as <|unk|>');
  });

  it('reads <|endoftext|> listed only in added_tokens, as Hugging Face writes an added token', () => {
    const json = JSON.parse(charTokenizerFrom('ab').toTokenizerJson());
    delete json.model.vocab['<|endoftext|>'];
    const tok = tokenizerFromJson(JSON.stringify(json));
    expect([tok.vocabSize, tok.eosTokenId, tok.encode('ab<|endoftext|>c')]).toEqual([4, 3, [0, 1, 3, 2]]);
  });
});
