// The encoder's cache of encoded pieces: found by position in any text, bounded in size however many new pieces
// stream past, and keyed by copies (a key cut from a chunk of a file must not keep the chunk alive).
import { describe, expect, it } from 'vitest';
import { PieceCache } from '../../src/core/tokenizer/pretokenize.ts';
import { Random } from '../../src/core/util/random.ts';

const cached = (cache: PieceCache, text: string, start: number, end: number) =>
  cache.get(text, start, end, PieceCache.hash(text, start, end));

describe('PieceCache', () => {
  it('finds a piece by its text wherever it stands', () => {
    const cache = new PieceCache(6);
    const text = 'xx hello world yy';
    cache.set(text, 2, 8, PieceCache.hash(text, 2, 8), [7, 8]);
    cache.set(text, 8, 14, PieceCache.hash(text, 8, 14), 9);
    expect(cached(cache, ' hello', 0, 6)).toEqual([7, 8]);
    expect(cached(cache, 'the world', 3, 9)).toBe(9);
    expect(cached(cache, ' hello!', 0, 7)).toBeUndefined();
  });

  it('never holds more than half its largest table, and still answers right after starting over', () => {
    const maxLog2 = 7;
    const cache = new PieceCache(maxLog2);
    const random = new Random(3);
    const last: string[] = [];
    for (let k = 0; k < 5000; k++) {
      const word = ` w${Math.floor(random.next() * 1e9)}-${k}`;
      const text = `<<${word}>>`;
      cache.set(text, 2, 2 + word.length, PieceCache.hash(word, 0, word.length), k);
      expect(cache.count).toBeLessThanOrEqual(1 << (maxLog2 - 1));
      last.push(word);
    }
    // The last piece set is always there; a piece never set is never found.
    expect(cached(cache, last.at(-1)!, 0, last.at(-1)!.length)).toBe(4999);
    expect(cached(cache, ' never-set', 0, 10)).toBeUndefined();
    // Whatever is found is what was set for that piece.
    for (let k = 0; k < last.length; k++) {
      const v = cached(cache, last[k], 0, last[k].length);
      if (v !== undefined) expect(v).toBe(k);
    }
  });
});
