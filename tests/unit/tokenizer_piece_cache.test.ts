// The encoder's cache of encoded pieces: found by position in any text, and bounded in entries and memory however
// many new pieces stream past.
import { describe, expect, it } from 'vitest';
import { PieceCache } from '../../src/core/tokenizer/pretokenize.ts';
import { Random } from '../../src/core/util/random.ts';

const cached = (cache: PieceCache, text: string, start: number, end: number): number[] | undefined => {
  const out = [-1];
  return cache.lookup(text, start, end, PieceCache.hash(text, start, end), out) ? out.slice(1) : undefined;
};

describe('PieceCache', () => {
  it('finds a piece by its text wherever it stands', () => {
    const cache = new PieceCache(6);
    const text = 'xx hello world yy';
    cache.set(text, 2, 8, PieceCache.hash(text, 2, 8), [0, 7, 8], 1);
    cache.set(text, 8, 14, PieceCache.hash(text, 8, 14), [9]);
    expect(cached(cache, ' hello', 0, 6)).toEqual([7, 8]);
    expect(cached(cache, 'the world', 3, 9)).toEqual([9]);
    expect(cached(cache, ' hello!', 0, 7)).toBeUndefined();
    expect(cached(cache, ' hellO', 0, 6)).toBeUndefined();
  });

  it('never holds more than half its largest table, and answers right through growing and starting over', () => {
    const maxLog2 = 7;
    const cache = new PieceCache(maxLog2);
    const random = new Random(3);
    const words: string[] = [];
    const idsOf = (k: number) => Array.from({ length: 1 + (k % 9) }, (_, i) => k * 10 + i);
    for (let k = 0; k < 5000; k++) {
      // Keys of every length up to 40 code units, some with characters outside one byte.
      const word = ` w${k}${'é语x'.repeat(Math.floor(random.next() * 12))}`;
      const text = `<<${word}>>`;
      cache.set(text, 2, 2 + word.length, PieceCache.hash(word, 0, word.length), idsOf(k));
      expect(cache.count).toBeLessThanOrEqual(1 << (maxLog2 - 1));
      expect(cached(cache, word, 0, word.length)).toEqual(idsOf(k));
      words.push(word);
    }
    // Whatever is found is what was set for that piece; a piece never set is never found.
    let found = 0;
    for (let k = 0; k < words.length; k++) {
      const v = cached(cache, words[k], 0, words[k].length);
      if (v !== undefined) {
        expect(v).toEqual(idsOf(k));
        found++;
      }
    }
    expect(found).toBeGreaterThan(0);
    expect(cached(cache, ' never-set', 0, 10)).toBeUndefined();
  });
});
