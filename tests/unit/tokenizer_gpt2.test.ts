// GPT-2's tokenizer against Hugging Face's own JS implementation (tokenizers.js, reading the same
// tokenizer.json) and against gpt-tokenizer (OpenAI's r50k_base ranks, an independent copy).
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ByteLevelBpeTokenizer,
  loadGpt2Tokenizer,
  tokenizerFromHfFiles,
  tokenizerFromJson,
} from '../../src/core/tokenizer/index.ts';
import { gpt2SplitRegex } from '../../src/core/tokenizer/byte_level.ts';
import { gpt2PieceEnd } from '../../src/core/tokenizer/pretokenize.ts';

const CASES = [
  'Hello world',
  '今天天气很好,我们可以去',
  'Emoji: 🎉 👨‍👩‍👧‍👦 🇫🇷 😀😀!',
  'runs   of  spaces\n\n\nand\t\ttabs \n \n  trailing   ',
  '   ',
  '\n',
  '\r\n\r\n',
  '',
  "I'll've don't it's WE'RE",
  '1234567 3.14159 -42',
  '日本語のテキスト、한국어 텍스트, русский текст',
  'e\u0301 cafe\u0301 \u00a0nbsp\u00a0',
  'x'.repeat(500),
  ' '.repeat(300) + 'y',
  '今天'.repeat(80),
  'def f(x):\n    return x ** 2  # square\n',
  'a<|endoftext|>b <|endoftext|><|endoftext|>\n<|endoftext',
];

let ours: ByteLevelBpeTokenizer;
let hf: HfTokenizer;
const hfIds = (text: string) => hf.encode(text, { add_special_tokens: false }).ids;

beforeAll(async () => {
  ours = await loadGpt2Tokenizer();
  hf = new HfTokenizer(JSON.parse(readFileSync('assets/gpt2/tokenizer.json', 'utf8')), {});
});

function randomText(seed: number, length: number): string {
  const pool = [
    "'re",
    "'ll",
    "'S",
    "'x",
    '𝐀𝐁',
    '٣',
    '\ud800',
    '\u2028',
    '\ufeff',
    '\u0085',
    '\u3000',
    'a',
    'b',
    'Z',
    'the',
    ' ',
    '  ',
    '\n',
    '\t',
    "'",
    "'s",
    '1',
    '22',
    '.',
    ',',
    '今',
    '天',
    '😀',
    '\u00a0',
    'é',
    '\u0301',
    '-',
    '—',
    'ß',
    '\r\n',
    '<|',
    'endoftext',
    '|>',
  ];
  let s = seed >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out += pool[(s >>> 16) % pool.length];
  }
  return out;
}

describe('GPT-2 tokenizer', () => {
  it('has GPT-2 sizes and its best-known ids', () => {
    expect(ours.vocabSize).toBe(50257);
    expect(ours.eosTokenId).toBe(50256);
    expect(ours.encode('Hello world')).toEqual([15496, 995]);
    expect(ours.encode(' the')).toEqual([262]);
    expect(ours.encode('<|endoftext|>')).toEqual([50256]);
    // What checkpoints write into a Hugging Face folder is the shipped file, byte for byte.
    expect(ours.toTokenizerJson()).toBe(readFileSync('assets/gpt2/tokenizer.json', 'utf8'));
  });

  it('splits text into the pieces the GPT-2 pattern matches', () => {
    const pieces = (text: string) => {
      const out: string[] = [];
      for (let start = 0, end: number; start < text.length; start = end)
        out.push(text.slice(start, (end = gpt2PieceEnd(text, start))));
      return out;
    };
    const texts = [...CASES, ...Array.from({ length: 2000 }, (_, k) => randomText(k + 1000, k % 50))];
    for (const text of texts) expect(pieces(text), JSON.stringify(text)).toEqual(text.match(gpt2SplitRegex()) ?? []);
  });

  it('encodes as Hugging Face and gpt-tokenizer do', () => {
    for (const text of CASES) {
      const ids = ours.encode(text);
      expect(ids, JSON.stringify(text)).toEqual(hfIds(text));
      // gpt-tokenizer refuses special tokens unless allowed; its ids must agree everywhere else.
      if (!text.includes('<|endoftext|>')) expect(ids, JSON.stringify(text)).toEqual(gptTokenizerEncode(text));
    }
  });

  it('matches Hugging Face on random mixtures of awkward text', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const text = randomText(seed, seed % 60);
      expect(ours.encode(text), JSON.stringify(text)).toEqual(hfIds(text));
    }
  });

  it('merges long pieces (the heap path) exactly as short ones', () => {
    let s = 7;
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    for (let n = 90; n < 700; n += 37) {
      let word = '';
      for (let i = 0; i < n; i++) word += letters[((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) % 26];
      expect(ours.encode(word)).toEqual(gptTokenizerEncode(word));
    }
  });

  it('decodes back to the text, and as Hugging Face decodes', () => {
    for (const text of CASES) {
      const ids = ours.encode(text);
      expect(ours.decode(ids)).toBe(text);
      if (ids.length > 0) expect(ours.decode(ids)).toBe(hf.decode(ids, { clean_up_tokenization_spaces: false }));
    }
  });

  it('never throws on ids that split a character, nor on ids outside the vocabulary', () => {
    const ids = ours.encode('😀'); // four bytes, several tokens
    expect(ids.length).toBeGreaterThan(1);
    for (let k = 1; k < ids.length; k++) {
      expect(() => ours.decode(ids.slice(0, k))).not.toThrow();
      expect(ours.decode(ids.slice(0, k))).toContain('\ufffd');
      expect(ours.decode(ids.slice(k))).toContain('\ufffd');
    }
    expect(ours.decode([15496, 99999, -1, 995])).toBe('Hello world');
  });

  it('streams text only once its characters are complete', () => {
    const text = 'Hi 😀 今天天气很好,我们可以去 🇫🇷!';
    const ids = ours.encode(text);
    const stream = ours.createStreamDecoder();
    let out = '';
    for (const id of ids) {
      const piece = stream.push(id);
      expect(piece).not.toContain('\ufffd');
      out += piece;
    }
    out += stream.flush();
    expect(out).toBe(text);

    const cut = ours.createStreamDecoder();
    const partial = ours
      .encode('😀')
      .slice(0, -1)
      .map((id) => cut.push(id))
      .join('');
    expect(partial).toBe('');
    expect(cut.flush()).toBe('\ufffd');
  });

  it('reads vocab.json + merges.txt and its own tokenizer.json to the same tokenizer', () => {
    const json = JSON.parse(ours.toTokenizerJson());
    const vocab = { ...json.model.vocab };
    const merges = '#version: 0.2\n' + json.model.merges.join('\n') + '\n';
    const fromPair = tokenizerFromHfFiles({ vocabJson: JSON.stringify(vocab), mergesTxt: merges });
    const fromJson = tokenizerFromJson(ours.toTokenizerJson());
    for (const text of CASES) {
      expect(fromPair.encode(text)).toEqual(ours.encode(text));
      expect(fromJson.encode(text)).toEqual(ours.encode(text));
    }
  });

  it('refuses an id beyond the tokens the file lists, in tokenizer.json and in vocab.json', () => {
    const json = JSON.parse(ours.toTokenizerJson());
    json.model.vocab['zz'] = 4294967294;
    const listed = Object.keys(json.model.vocab).length + json.added_tokens.length;
    expect(() => tokenizerFromJson(JSON.stringify(json))).toThrow(
      `tokenizer.json: model.vocab: the id of "zz" is 4294967294, beyond the ${listed} tokens the file lists (ids 0 to ${listed - 1})`,
    );
    expect(() =>
      tokenizerFromHfFiles({ vocabJson: JSON.stringify(json.model.vocab), mergesTxt: json.model.merges.join('\n') }),
    ).toThrow(`vocab.json: the id of "zz" is 4294967294, beyond the ${listed - 1} tokens the file lists`);
  });
});
