// Real tokenizers (Llama 2, Llama 3, Qwen 3, Gemma 3) read by Hearth's pipeline against Hugging Face's
// tokenizers.js reading the same files: ids with and without the template's special tokens, decoded text,
// streamed decoding and chunked encoding, on the kinds of text in TEXT_KINDS and 2,000 random awkward strings.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { PipelineTokenizer, tokenizerFromHfFiles } from '../../src/core/tokenizer/index.ts';
import {
  REAL_TOKENIZERS,
  randomAwkwardText,
  realTokenizerFiles,
  specialTokenText,
  TEXT_KINDS,
} from './tokenizer_fixtures.ts';

const RANDOM_STRINGS = 2000;
const noLoneSurrogate = (s: string) =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe.each(REAL_TOKENIZERS)('%s tokenizer.json', (name) => {
  let ours: PipelineTokenizer;
  let hf: HfTokenizer;
  let specials: string[];
  let texts: [string, string][];

  beforeAll(() => {
    const files = realTokenizerFiles(name);
    const t = tokenizerFromHfFiles(files);
    expect(t).toBeInstanceOf(PipelineTokenizer);
    ours = t as PipelineTokenizer;
    hf = new HfTokenizer(JSON.parse(files.tokenizerJson), JSON.parse(files.tokenizerConfig));
    const added = (JSON.parse(files.tokenizerJson) as { added_tokens: { content: string; special: boolean }[] })
      .added_tokens;
    specials = added.filter((a) => a.special).map((a) => a.content);
    texts = [...Object.entries(TEXT_KINDS), ['special tokens', specialTokenText(specials)]];
  }, 120_000);

  it('encodes every kind of text to the ids tokenizers.js gives, with and without the template', () => {
    for (const [kind, text] of texts) {
      for (const add of [true, false]) {
        const want = hf.encode(text, { add_special_tokens: add }).ids;
        expect(ours.encode(text, { addSpecialTokens: add }), `${kind}, special tokens ${add}`).toEqual(want);
      }
    }
  });

  it('decodes to the text tokenizers.js decodes, with and without special tokens', () => {
    for (const [kind, text] of texts) {
      const ids = hf.encode(text).ids;
      if (ids.length === 0) continue;
      for (const skip of [false, true]) {
        const options = { skip_special_tokens: skip, clean_up_tokenization_spaces: false };
        expect(ours.decode(ids, { skipSpecialTokens: skip, cleanUpTokenizationSpaces: false }), kind).toBe(
          hf.decode(ids, options),
        );
      }
      expect(ours.decode(ids, { cleanUpTokenizationSpaces: true }), kind).toBe(
        hf.decode(ids, { clean_up_tokenization_spaces: true }),
      );
    }
  });

  it(`agrees with tokenizers.js on ${RANDOM_STRINGS} random awkward strings`, () => {
    for (let seed = 1; seed <= RANDOM_STRINGS; seed++) {
      const text = randomAwkwardText(seed * 7919, 1 + (seed % 40), specials);
      const want = hf.encode(text).ids;
      const got = ours.encode(text);
      expect(got, JSON.stringify(text)).toEqual(want);
      if (want.length)
        expect(ours.decode(want, { cleanUpTokenizationSpaces: false }), JSON.stringify(text)).toBe(
          hf.decode(want, { clean_up_tokenization_spaces: false }),
        );
    }
  });

  it('streams decoded text without splitting a character, ending with exactly what decode gives', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const text = randomAwkwardText(seed, 30) + TEXT_KINDS.emoji + TEXT_KINDS.chinese;
      const ids = ours.encode(text, { addSpecialTokens: false }).filter((id) => !ours.specialTokenIds.has(id));
      const stream = ours.createStreamDecoder();
      let streamed = '';
      for (const id of ids) {
        const piece = stream.push(id);
        expect(noLoneSurrogate(piece), JSON.stringify(piece)).toBe(true);
        expect(piece.includes('\uFFFD')).toBe(false);
        streamed += piece;
      }
      streamed += stream.flush();
      expect(streamed).toBe(ours.decode(ids, { cleanUpTokenizationSpaces: false }));
    }
    // Ids that end mid-character: held back, then U+FFFD at the end; never an exception.
    const stream = ours.createStreamDecoder();
    for (const id of ours.encode('😀', { addSpecialTokens: false }).slice(0, -1))
      expect(() => stream.push(id)).not.toThrow();
    expect(() => stream.push(-5)).not.toThrow();
    expect(() => stream.flush()).not.toThrow();
  });

  it('streams what generated ids add after a prompt, a leading space included', () => {
    for (const [prompt, rest] of [
      ['The weather', ' is fine today'],
      ['今天', ' 天气很好'],
      ['Hello', ', world 😀'],
    ]) {
      const context = ours.encode(prompt);
      const all = ours.encode(prompt + rest);
      // Ids of the whole text past the prompt's own (where the two agree), as a model would generate them.
      let same = 0;
      while (same < context.length && all[same] === context[same]) same++;
      const generated = all.slice(same);
      const stream = ours.createStreamDecoder(all.slice(0, same));
      let streamed = '';
      for (const id of generated) streamed += stream.push(id);
      streamed += stream.flush();
      const decode = (ids: number[]) => ours.decode(ids, { cleanUpTokenizationSpaces: false });
      expect(streamed).toBe(decode(all).slice(decode(all.slice(0, same)).length));
    }
  });

  it('encodes text streamed in chunks to the ids of the whole text, however it is chunked', () => {
    const text = texts.map(([, t]) => t).join('\n') + randomAwkwardText(5, 3000, specials);
    const whole = ours.encode(text, { addSpecialTokens: false });
    for (const size of [7, 100, 4096]) {
      const encoder = ours.createChunkEncoder();
      const ids: number[] = [];
      for (let at = 0; at < text.length; at += size) ids.push(...encoder.push(text.slice(at, at + size)));
      // The text is cut as it comes (not held whole until the end).
      expect(ids.length).toBeGreaterThan(whole.length / 2);
      ids.push(...encoder.finish());
      expect(ids, `chunks of ${size}`).toEqual(whole);
    }
  });

  it('says what it is: kind, vocabulary size and special tokens', () => {
    const s = ours.summary;
    expect(s.vocabSize).toBe(ours.vocabSize);
    expect(s.model).toBe(
      name === 'llama2' || name === 'gemma3' ? 'SentencePiece-style BPE (byte fallback)' : 'byte-level BPE',
    );
    const config = JSON.parse(realTokenizerFiles(name).tokenizerConfig) as { eos_token: string };
    const eos = s.special.find((t) => t.role === 'eos')!;
    expect(eos.content).toBe(config.eos_token);
    expect(hf.encode(eos.content, { add_special_tokens: false }).ids).toEqual([eos.id]);
    expect(ours.eosTokenIds).toEqual([eos.id]);
  });
});
