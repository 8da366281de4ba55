// BPE training: the merges Hugging Face's trainer would pick, a tokenizer.json that Hugging
// Face's loader reads to the same ids, streaming input, and the worker's handler.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { PieceCounter, tokenizerFromJson, trainBpe, type TrainProgress } from '../../src/core/tokenizer/index.ts';
import { BYTE_TO_CHAR } from '../../src/core/tokenizer/byte_level.ts';
import { handleTrainRequest, type TrainTokenizerReply } from '../../src/core/tokenizer/train_worker_protocol.ts';

const WORDS = [
  'the',
  'cat',
  'sat',
  'on',
  'mat',
  'and',
  'dog',
  'ran',
  'far',
  'away',
  'today',
  'weather',
  'is',
  'good',
  '今天',
  '天气',
  '很好',
  '我们',
  '可以',
  '去',
];

function corpus(sentences: number, seed = 3): string {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16; // high bits: the low ones cycle
  const lines: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const n = 3 + (next() % 8);
    // A third of the words are made-up syllable strings, so that merges do not run out early.
    const syllables = ['ka', 'lo', 'mi', 'ne', 'tru', 'sp', 'qui', 'ez'];
    const madeUp = () => Array.from({ length: 1 + (next() % 4) }, () => syllables[next() % syllables.length]).join('');
    const words = Array.from({ length: n }, () => (next() % 3 === 0 ? madeUp() : WORDS[next() % WORDS.length]));
    lines.push(words.join(next() % 5 === 0 ? '  ' : ' ') + (next() % 3 === 0 ? '.\n\n' : '.\n'));
  }
  return lines.join('');
}

const SAMPLES = [
  'the cat sat on the mat.',
  'unseen words: zebra, 🦓, ß',
  '今天天气很好,我们可以去',
  '  spaces\n\n\tand tabs ',
  'a<|endoftext|>b',
];

describe('BPE training', () => {
  it('merges the most frequent pair first, then builds on it', async () => {
    const tok = await trainBpe(['ab ab ab ab cd'], { vocabSize: 259 });
    expect(tok.merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
    ]);
    expect(tok.encode(' ab')).toEqual([257]);
    expect(tok.eosTokenId).toBe(258);
  });

  it('picks the same merges as recounting every pair after every merge', async () => {
    const text = corpus(150, 21);
    const counter = new PieceCounter();
    counter.addText(text);
    const tok = await trainBpe([text], { vocabSize: 330 });
    // The slow, obvious trainer: words as token-text arrays, all pairs recounted each round.
    const words = [...counter.counts].map(([piece, n]) => ({
      n,
      syms: Array.from(new TextEncoder().encode(piece), (b) => BYTE_TO_CHAR[b]),
    }));
    const idOf = new Map(tok.tokens.map((t, i) => [t, i]));
    const expected: [string, string][] = [];
    for (let m = 0; m < 330 - 257; m++) {
      const counts = new Map<string, number>();
      for (const w of words)
        for (let i = 0; i + 1 < w.syms.length; i++)
          counts.set(w.syms[i] + ' ' + w.syms[i + 1], (counts.get(w.syms[i] + ' ' + w.syms[i + 1]) ?? 0) + w.n);
      let best: [string, string] | null = null;
      let bestCount = 0;
      let bestIds = [0, 0];
      for (const [k, c] of counts) {
        const [a, b] = k.split(' ');
        const ids = [idOf.get(a)!, idOf.get(b)!];
        if (
          c > bestCount ||
          (c === bestCount && (ids[0] < bestIds[0] || (ids[0] === bestIds[0] && ids[1] < bestIds[1])))
        ) {
          best = [a, b];
          bestCount = c;
          bestIds = ids;
        }
      }
      if (!best) break;
      expected.push(best);
      for (const w of words) {
        const out: string[] = [];
        for (let i = 0; i < w.syms.length; i++) {
          if (i + 1 < w.syms.length && w.syms[i] === best[0] && w.syms[i + 1] === best[1]) {
            out.push(best[0] + best[1]);
            i++;
          } else out.push(w.syms[i]);
        }
        w.syms = out;
      }
    }
    expect(tok.merges).toEqual(expected);
  });

  it('gives the asked vocabulary size, round-trips any text, and is deterministic', async () => {
    const text = corpus(400);
    const progress: TrainProgress[] = [];
    const tok = await trainBpe([text], { vocabSize: 400, onProgress: (p) => progress.push(p) });
    expect(tok.vocabSize).toBe(400);
    expect(tok.eosTokenId).toBe(399);
    expect(tok.merges.length).toBe(400 - 257);
    expect(progress.at(-1)).toEqual({ phase: 'merging', done: 143, total: 143 });
    for (const s of [...SAMPLES, text.slice(0, 500)]) expect(tok.decode(tok.encode(s))).toBe(s);
    expect(tok.encode(text).length).toBeLessThan(new TextEncoder().encode(text).length / 3);
    const again = await trainBpe([text], { vocabSize: 400 });
    expect(again.toTokenizerJson()).toBe(tok.toTokenizerJson());
  });

  it('writes a tokenizer.json that Hugging Face loads to the same ids and text', async () => {
    const tok = await trainBpe([corpus(300)], { vocabSize: 350 });
    const json = tok.toTokenizerJson();
    const hf = new HfTokenizer(JSON.parse(json), {});
    for (const s of SAMPLES) {
      const ids = tok.encode(s);
      expect(hf.encode(s, { add_special_tokens: false }).ids).toEqual(ids);
      expect(hf.decode(ids, { clean_up_tokenization_spaces: false })).toBe(s);
    }
    expect(tokenizerFromJson(json).encode(SAMPLES[0])).toEqual(tok.encode(SAMPLES[0]));
  });

  it('stops early when the text runs out of pairs', async () => {
    const tok = await trainBpe(['abc'], { vocabSize: 1000 });
    expect(tok.merges.length).toBe(2);
    expect(tok.vocabSize).toBe(259);
    await expect(trainBpe(['abc'], { vocabSize: 100 })).rejects.toThrow(/too small/);
  });

  it('counts the same pieces from a stream cut anywhere as from whole text', () => {
    const text = corpus(50) + 'tail<|endoftext|>more';
    const whole = new PieceCounter();
    whole.addText(text);
    const streamed = new PieceCounter();
    for (let i = 0; i < text.length; i += 13) streamed.addChunk(text.slice(i, i + 13));
    streamed.endDocument();
    expect([...streamed.counts].sort()).toEqual([...whole.counts].sort());
  });

  it('trains in the worker handler from files, reporting progress and bad files', async () => {
    const replies: TrainTokenizerReply[] = [];
    const files = [new Blob([corpus(200)]), new Blob([new Uint8Array([0, 1, 2, 3])]), new Blob([corpus(100, 9)])];
    await handleTrainRequest(
      { kind: 'train', id: 5, tokenizer: 'bpe', vocabSize: 300, files, names: ['a.txt', 'b.bin', 'c.txt'] },
      (r) => replies.push(r),
    );
    const done = replies.find((r) => r.kind === 'done');
    expect(done, JSON.stringify(replies.filter((r) => r.kind === 'error'))).toBeDefined();
    expect(replies.some((r) => r.kind === 'progress' && r.progress.phase === 'counting')).toBe(true);
    expect(replies.some((r) => r.kind === 'progress' && r.progress.phase === 'merging')).toBe(true);
    const bad = replies.find((r) => r.kind === 'message');
    expect(bad?.kind === 'message' && bad.message.file).toBe('b.bin');
    if (done?.kind === 'done') expect(tokenizerFromJson(done.tokenizerJson).vocabSize).toBe(300);

    const charReplies: TrainTokenizerReply[] = [];
    await handleTrainRequest({ kind: 'train', id: 6, tokenizer: 'char', files: [new Blob(['ab😀'])] }, (r) =>
      charReplies.push(r),
    );
    const charDone = charReplies.find((r) => r.kind === 'done');
    if (charDone?.kind !== 'done') throw new Error('char training failed');
    expect(tokenizerFromJson(charDone.tokenizerJson).vocabSize).toBe(5);
  });
});
