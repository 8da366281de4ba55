// The pipeline's stages one by one on small hand-made tokenizer.json files: Oniguruma regex translation, split
// behaviours, pre-tokenizers, BPE options, added-token flags, normalizers and decoders, checked against the Rust
// library's documented results (and against tokenizers.js where it implements the same), and bad input refused
// with the file, the field and the reason.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { FileField } from '../../src/core/tokenizer/errors.ts';
import { decoderFromJson } from '../../src/core/tokenizer/decoders.ts';
import { tokenizerFromHfFiles, tokenizerFromJson } from '../../src/core/tokenizer/index.ts';
import { translateOniguruma } from '../../src/core/tokenizer/oniguruma.ts';
import { preTokenizerFromJson } from '../../src/core/tokenizer/pre_tokenizers.ts';

const field = new FileField('tokenizer.json', 'pre_tokenizer');
const piecesOf = (json: unknown, text: string, atStart = true) => {
  const out: string[] = [];
  preTokenizerFromJson(json, field)!.split(text, 0, text.length, atStart, (t, a, b) => out.push(t.slice(a, b)));
  return out;
};
const matches = (pattern: string, text: string) => text.match(new RegExp(translateOniguruma(pattern).source, 'gu'));

/** A character-level BPE over a small alphabet, with a few merges, and whatever stages a test gives it. */
function tiny(parts: Record<string, unknown> = {}, model: Record<string, unknown> = {}): string {
  const chars = [..."abcdefghijklmnopqrstuvwxyz .,!?'▁-#<>/"];
  const merged = ['th', 'the', '▁t', '▁th', '▁the', 'he', 'll', 'llo', 'hello', '▁▁'];
  const vocab: Record<string, number> = { '<unk>': 0, '</s>': 1 };
  for (const t of [...chars, ...merged]) vocab[t] ??= Object.keys(vocab).length;
  const merges = ['t h', 'th e', '▁ t', '▁t h', '▁th e', 'h e', 'l l', 'll o', 'he llo', '▁ ▁'];
  return JSON.stringify({
    version: '1.0',
    added_tokens: [
      { id: 1, content: '</s>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
    ],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...parts,
    model: { type: 'BPE', vocab, merges, unk_token: '<unk>', ...model },
  });
}

describe('Oniguruma regexes in JavaScript', () => {
  it('reads the patterns real files use as Oniguruma does', () => {
    const llama3 = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
    expect(matches(llama3, "I'M he'S 12345 ok!\n\n x")).toEqual([
      'I',
      "'M",
      ' he',
      "'S",
      ' ',
      '123',
      '45',
      ' ok',
      '!\n\n',
      ' x',
    ]);
    // Unicode case folding under (?i): "ſ" is "s" and the Kelvin sign is "k".
    expect(matches(`(?i:'s|k)`, "'ſ \u212a 'S")).toEqual(["'ſ", '\u212a', "'S"]);
    expect(matches(String.raw`\p{Han}+`, 'ab今天cd')).toEqual(['今天']);
    expect(matches('.+', 'ab\ncd')).toEqual(['ab', 'cd']);
    expect(matches(String.raw`\s`, '\u0085\ufeff\u3000')).toEqual(['\u0085', '\u3000']); // White_Space, not JS \s
    expect(matches(String.raw`\h+`, 'xBEEFz')).toEqual(['BEEF']);
    expect(matches('^a|b$', 'a\nab\nb')).toEqual(['a', 'a', 'b', 'b']);
  });

  it('keeps atomic groups and possessive quantifiers from backtracking', () => {
    expect(matches('a*+a', 'aaa')).toBeNull();
    expect(matches('(?>a|ab)c', 'abc')).toBeNull();
    expect(matches('(?:a|ab)c', 'abc')).toEqual(['abc']);
    expect(matches(String.raw`\d++\.`, '12.')).toEqual(['12.']);
    expect(matches('x?+x', 'x')).toBeNull();
    // Ruby syntax: {n,m}+ repeats the interval; it is not possessive.
    expect(matches('a{2}+', 'aaaaa')).toEqual(['aaaa']);
  });

  it('refuses what it cannot translate exactly, naming the construct and the pattern', () => {
    for (const [pattern, what] of [
      [String.raw`\Gx`, String.raw`the escape \G`],
      [String.raw`(a)\1`, String.raw`the escape \1`],
      ['[a&&b]', 'a character class intersection'],
      ['[[:alpha:]]', 'a nested character class'],
      ['(?m:.)', 'the option group (?m:'],
      [String.raw`(?i:\p{L})`, 'a Unicode property inside (?i:...)'],
      ['(ab', 'an unclosed "("'],
    ])
      expect(() => translateOniguruma(pattern), pattern).toThrow(`cannot translate ${what}`);
    expect(() => translateOniguruma(String.raw`\p{NoSuchThing}`)).toThrow(/unknown Unicode property/);
  });
});

describe('pre-tokenizers', () => {
  it("splits by every behaviour as the Rust library's documentation shows", () => {
    const split = (behavior: string, invert = false) =>
      piecesOf({ type: 'Split', pattern: { String: '-' }, behavior, invert }, 'the-final--countdown');
    expect(split('Removed')).toEqual(['the', 'final', 'countdown']);
    expect(split('Isolated')).toEqual(['the', '-', 'final', '-', '-', 'countdown']);
    expect(split('MergedWithPrevious')).toEqual(['the-', 'final-', '-', 'countdown']);
    expect(split('MergedWithNext')).toEqual(['the', '-final', '-', '-countdown']);
    expect(split('Contiguous')).toEqual(['the', '-', 'final', '--', 'countdown']);
    expect(split('Removed', true)).toEqual(['-', '-', '-']);
  });

  it('reads Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit and ByteLevel', () => {
    expect(piecesOf({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' }, 'Hey  friend')).toEqual([
      '▁Hey',
      '▁',
      '▁friend',
    ]);
    expect(piecesOf({ type: 'Metaspace', prepend_scheme: 'first' }, 'Hey', false)).toEqual(['Hey']);
    expect(piecesOf({ type: 'Metaspace', prepend_scheme: 'never', split: false }, 'a b')).toEqual(['a▁b']);
    expect(piecesOf({ type: 'Digits', individual_digits: true }, 'ab123٣')).toEqual(['ab', '1', '2', '3', '٣']);
    expect(piecesOf({ type: 'Digits', individual_digits: false }, 'ab123c')).toEqual(['ab', '123', 'c']);
    expect(piecesOf({ type: 'Punctuation' }, 'Hi!!, you')).toEqual(['Hi', '!', '!', ',', ' you']);
    expect(piecesOf({ type: 'Whitespace' }, 'Hey, café-x 今天!')).toEqual(['Hey', ',', 'café', '-', 'x', '今天', '!']);
    expect(piecesOf({ type: 'WhitespaceSplit' }, 'a\u0085b  c')).toEqual(['a', 'b', 'c']);
    expect(piecesOf({ type: 'ByteLevel', add_prefix_space: true, use_regex: true }, "Hi's")).toEqual([' Hi', "'s"]);
    const seq = {
      type: 'Sequence',
      pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }],
    };
    expect(piecesOf(seq, 'a12 b')).toEqual(['a', '1', '2', 'b']);
  });
});

describe('models, added tokens, normalizers and decoders', () => {
  it('agrees with tokenizers.js on the stages both implement alike', () => {
    const files = [
      tiny({ normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] } }),
      tiny({ normalizer: { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' } }),
      tiny({ normalizer: { type: 'Strip', strip_left: true, strip_right: true } }),
      tiny({
        normalizer: {
          type: 'Sequence',
          normalizers: [
            { type: 'Prepend', prepend: '▁' },
            { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
          ],
        },
        decoder: {
          type: 'Sequence',
          decoders: [
            { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
            { type: 'Fuse' },
            { type: 'Strip', content: ' ', start: 1, stop: 0 },
          ],
        },
      }),
      // (not fuse_unk: tokenizers.js fuses unknown characters across words, the Rust library within a word)
      tiny({ pre_tokenizer: { type: 'WhitespaceSplit' } }, { ignore_merges: true }),
    ];
    const texts = ['Hello the world', '  THE ﬁ hello  ', 'the</s>the', 'zz€€€ ab', 'x  y', ''];
    for (const json of files) {
      const ours = tokenizerFromJson(json);
      const hf = new HfTokenizer(JSON.parse(json), {});
      for (const text of texts) {
        expect(ours.encode(text), `${text} with ${json.slice(60, 160)}`).toEqual(hf.encode(text).ids);
        const ids = hf.encode(text).ids;
        if (ids.length) expect(ours.decode(ids)).toBe(hf.decode(ids, { clean_up_tokenization_spaces: false }));
      }
    }
  });

  it('spells unknown characters in bytes (byte_fallback) or as one fused <unk> (fuse_unk)', () => {
    const withBytes = JSON.parse(tiny({}, { byte_fallback: true })) as { model: { vocab: Record<string, number> } };
    for (const b of [0xe2, 0x82, 0xac]) withBytes.model.vocab[`<0x${b.toString(16).toUpperCase()}>`] = 100 + b;
    const t = tokenizerFromJson(JSON.stringify(withBytes));
    expect(t.encode('a€')).toEqual([withBytes.model.vocab.a, 100 + 0xe2, 100 + 0x82, 100 + 0xac]);
    expect(t.encode('a😀')).toEqual([withBytes.model.vocab.a, 0]); // no byte tokens for it: <unk>
    expect(tokenizerFromJson(tiny({}, { fuse_unk: true })).encode('€€a€')).toEqual([0, 2, 0]);
    expect(tokenizerFromJson(tiny({}, { fuse_unk: false })).encode('€€a')).toEqual([0, 0, 2]);
  });

  it('merges with continuing_subword_prefix and end_of_word_suffix as the Rust library does', () => {
    const vocab = { a: 0, '##b': 1, '##c': 2, ab: 3, abc: 4, 'c</w>': 5, '##c</w>': 6, 'abc</w>': 7, '##b</w>': 8 };
    const added_tokens = [{ id: 9, content: '</s>', special: true }];
    const prefix = tokenizerFromJson(
      JSON.stringify({
        added_tokens,
        model: { type: 'BPE', vocab, merges: ['a ##b', 'ab ##c'], continuing_subword_prefix: '##' },
      }),
    );
    expect(prefix.encode('abc')).toEqual([4]);
    expect(prefix.encode('acb')).toEqual([0, 2, 1]);
    const suffix = tokenizerFromJson(
      JSON.stringify({
        added_tokens,
        model: {
          type: 'BPE',
          vocab,
          merges: ['a ##b', 'ab ##c</w>'],
          continuing_subword_prefix: '##',
          end_of_word_suffix: '</w>',
        },
      }),
    );
    expect(suffix.encode('abc')).toEqual([7]);
  });

  it('finds added tokens with lstrip, rstrip and single_word as the Rust library does', () => {
    const json = JSON.parse(tiny()) as { added_tokens: unknown[] };
    json.added_tokens.push(
      { id: 90, content: '<l>', special: true, lstrip: true, rstrip: false, single_word: false, normalized: false },
      { id: 91, content: '<r>', special: true, lstrip: false, rstrip: true, single_word: false, normalized: false },
      { id: 92, content: 'ab', special: false, lstrip: false, rstrip: false, single_word: true, normalized: false },
    );
    const t = tokenizerFromJson(JSON.stringify(json));
    const id = (c: string) => t.encode(c, { addSpecialTokens: false })[0];
    expect(t.encode('a  <l>b')).toEqual([id('a'), 90, id('b')]);
    expect(t.encode('a<r>  b')).toEqual([id('a'), 91, id('b')]);
    expect(t.encode('x ab.')).toEqual([id('x'), id(' '), 92, id('.')]);
    expect(t.encode('xab')).toEqual([id('x'), id('a'), id('b')]);
  });

  it('decodes as the Rust decoders do where tokenizers.js differs', () => {
    const decode = (json: unknown, tokens: string[]) =>
      decoderFromJson(json, new FileField('tokenizer.json', 'decoder'))!(tokens).join('');
    // Metaspace drops every replacement in the first token (the prefix it added), keeps the others as spaces.
    expect(decode({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' }, ['▁▁Hey', '▁you'])).toBe(
      'Hey you',
    );
    expect(decode({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'never' }, ['▁Hey'])).toBe(' Hey');
    // ByteFallback: a run of bytes that is not UTF-8 gives one U+FFFD per byte.
    expect(decode({ type: 'ByteFallback' }, ['<0xE4>', '<0xB8>', 'x', '<0xE4>', '<0xB8>', '<0xAD>'])).toBe(
      '\uFFFD\uFFFDx中',
    );
    expect(decode({ type: 'ByteLevel' }, ['\ufeff', 'Ġhi'])).toBe('\ufeff hi');
  });
});

describe('bad tokenizer files', () => {
  const base = JSON.parse(tiny()) as Record<string, Record<string, unknown>>;
  const refuse = (json: unknown) => () => tokenizerFromJson(typeof json === 'string' ? json : JSON.stringify(json));

  it('names the file, the field and the problem', () => {
    expect(refuse('{"model": {')).toThrow(/^tokenizer\.json: not valid JSON \(/);
    expect(refuse('[1, 2]')).toThrow('tokenizer.json: does not hold a JSON object');
    expect(refuse({ ...base, model: { ...base.model, merges: ['t h', 'th zz'] } })).toThrow(
      'tokenizer.json: model.merges[1]: the merge "th zz" names "zz", which model.vocab lacks',
    );
    expect(refuse({ ...base, model: { ...base.model, merges: ['t h', 'l l', 'xyz'] } })).toThrow(
      'tokenizer.json: model.merges[2]: "xyz" is not two tokens separated by a space',
    );
    expect(refuse({ ...base, model: { type: 'Unigram', vocab: [['a', 0]] } })).toThrow(
      'tokenizer.json: model.type: the model "Unigram" is not supported',
    );
    expect(refuse({ ...base, model: { type: 'WordPiece', vocab: { a: 0 } } })).toThrow(
      /model\.type: the model "WordPiece"/,
    );
    expect(refuse({ ...base, model: { type: 'WordLevel', vocab: { a: 0 } } })).toThrow(
      /model\.type: the model "WordLevel"/,
    );
    expect(refuse({ ...base, model: { type: 'BPE', vocab: {}, merges: [] } })).toThrow(
      'tokenizer.json: model.vocab: is empty: a tokenizer needs at least one token',
    );
    expect(
      refuse({
        ...base,
        pre_tokenizer: { type: 'Split', pattern: { Regex: String.raw`(\w)\1` }, behavior: 'Isolated' },
      }),
    ).toThrow(
      String.raw`tokenizer.json: pre_tokenizer.pattern.Regex: cannot translate the escape \1 at offset 4 of the regex "(\\w)\\1"`,
    );
    expect(refuse({ ...base, normalizer: { type: 'Precompiled', precompiled_charsmap: '' } })).toThrow(
      'tokenizer.json: normalizer.type: the normalizer "Precompiled" is not supported',
    );
    expect(refuse({ ...base, pre_tokenizer: { type: 'BertPreTokenizer' } })).toThrow(
      /pre_tokenizer\.type: the pre-tokenizer "BertPreTokenizer"/,
    );
    expect(refuse({ ...base, decoder: { type: 'WordPiece' } })).toThrow(/decoder\.type: the decoder "WordPiece"/);
    expect(refuse({ ...base, post_processor: { type: 'BertProcessing' } })).toThrow(
      /post_processor\.type: the post-processor/,
    );
    expect(refuse({ ...base, model: { ...base.model, dropout: 0.1 } })).toThrow(/model\.dropout: BPE dropout/);
    // An id far past any vocabulary is refused, not stored (a table indexed by id would take four billion slots).
    expect(
      refuse({ ...base, model: { ...base.model, vocab: { ...(base.model.vocab as object), zz: 4294967294 } } }),
    ).toThrow('tokenizer.json: model.vocab: the id of "zz" is 4294967294, beyond the 4194304 ids Hearth reads');
    expect(
      refuse({ ...base, added_tokens: [{ id: 2 ** 31, content: '<x>', special: true, normalized: false }] }),
    ).toThrow('tokenizer.json: added_tokens: the id of "<x>" is 2147483648, beyond the 4194304 ids Hearth reads');
    expect(() => tokenizerFromHfFiles({ tokenizerJson: tiny(), tokenizerConfig: '{"eos_token": "<nope>"}' })).toThrow(
      'tokenizer_config.json: eos_token: names "<nope>", which is in no vocabulary',
    );
    expect(() => tokenizerFromHfFiles({ tokenizerJson: tiny(), tokenizerConfig: '{' })).toThrow(
      /^tokenizer_config\.json: not valid JSON/,
    );
  });
});
