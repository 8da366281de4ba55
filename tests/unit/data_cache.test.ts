// The token cache's entries: written by appending in pieces of any size, read back by any range, invisible until
// finished, gone when aborted; an IndexedDB entry written whole by an earlier Hearth still reads; joined arrays.
import 'fake-indexeddb/auto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, keys, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { indexedDbTokenCache, memoryTokenCache, type TokenCache } from '../../src/core/data/index.ts';
import { folderTokenCache } from '../../src/core/data/node.ts';
import { JoinedArray } from '../../src/core/data/blocks.ts';
import { rng } from '../helpers.ts';

const caches: [string, () => TokenCache][] = [
  ['memory', () => memoryTokenCache()],
  ['IndexedDB', () => indexedDbTokenCache(`hearth-cache-test-${Math.random()}`)],
  ['folder', () => folderTokenCache(mkdtempSync(join(tmpdir(), 'hearth-cache-')))],
];

describe.each(caches)('%s token cache', (_, make) => {
  it('reads back any range of what was appended, in each width', async () => {
    const cache = make();
    const r = rng();
    for (const [width, hi] of [
      [1, 256],
      [2, 65536],
      [4, 2 ** 32],
    ] as const) {
      const n = 150_000 + width; // several IndexedDB chunks and folder write buffers, not a multiple of either
      const values = Array.from(r.ints(n, 2 ** 31), (v) => v % hi);
      const w = cache.create(`k${width}`, width);
      for (let at = 0, step = 1; at < n; at += step, step = step * 3 + 1) await w.append(values.slice(at, at + step));
      expect(await cache.open(`k${width}`)).toBeUndefined(); // not there until finished
      await w.finish();
      const reader = (await cache.open(`k${width}`))!;
      expect([reader.length, reader.width]).toEqual([n, width]);
      for (const [a, b] of [
        [0, n],
        [65535, 65537],
        [1, 1],
        [n - 3, n],
        [70_000, 140_001],
      ])
        expect(Array.from(await reader.read(a, b)), `width ${width} [${a}, ${b})`).toEqual(values.slice(a, b));
    }
  });

  it('leaves nothing under the key when a write is aborted', async () => {
    const cache = make();
    const w = cache.create('gone', 2);
    await w.append(new Uint16Array(70_000).fill(3));
    await w.abort();
    expect(await cache.open('gone')).toBeUndefined();
  });
});

describe('IndexedDB token cache', () => {
  it('still reads an entry an earlier Hearth stored whole', async () => {
    const name = `hearth-cache-old-${Math.random()}`;
    await set('v1:old', Uint16Array.of(5, 6, 7, 8), createStore(name, 'tokens'));
    const reader = (await indexedDbTokenCache(name).open('v1:old'))!;
    expect(Array.from(await reader.read(1, 3))).toEqual([6, 7]);
  });
});

describe('IndexedDB token cache sweep', () => {
  const HOUR = 3_600_000;
  /** A cache whose clock the test sets, with entries of `n` 2-byte tokens written at the given hours. */
  async function cacheWith(hours: Record<string, number>, n = 1000) {
    const clock = { t: 0 };
    const name = `hearth-sweep-${Math.random()}`;
    const cache = indexedDbTokenCache(name, () => clock.t);
    for (const [key, hour] of Object.entries(hours)) {
      clock.t = hour * HOUR;
      const w = cache.create(key, 2);
      await w.append(new Uint16Array(n).fill(hour));
      await w.finish();
    }
    return { cache, clock, name };
  }

  it('removes the least recently used entries until the rest fits, and keeps what it is told to', async () => {
    const { cache, clock } = await cacheWith({ a: 1, b: 2, c: 3, d: 4 });
    clock.t = 10 * HOUR;
    await cache.open('a'); // used again: now the most recent
    const result = await cache.sweep(6000, ['b']);
    // b is kept although older than c; a was used last; d is newer than c: c goes, then the budget holds
    expect(result).toEqual({ removed: 1, freedBytes: 2000, keptBytes: 6000 });
    expect(await cache.open('c')).toBeUndefined();
    for (const key of ['a', 'b', 'd']) expect((await cache.open(key))?.length, key).toBe(1000);
    const left = await cache.sweep(0);
    expect(left).toEqual({ removed: 3, freedBytes: 6000, keptBytes: 0 });
  });

  it('leaves a cache within its budget as it is, and entries still read after a sweep', async () => {
    const { cache } = await cacheWith({ a: 1, b: 2 }, 70_000); // two chunks each
    expect(await cache.sweep(280_000)).toEqual({ removed: 0, freedBytes: 0, keptBytes: 280_000 });
    expect(Array.from(await (await cache.open('b'))!.read(65_535, 65_538))).toEqual([2, 2, 2]);
  });

  it("removes an unfinished write's chunks once it is a day old, not while another tab may be writing", async () => {
    const { cache, clock, name } = await cacheWith({ done: 1 });
    clock.t = 2 * HOUR;
    const w = cache.create('cut', 2);
    await w.append(new Uint16Array(70_000)); // one chunk stored, then the tab closes
    const store = createStore(name, 'tokens');
    expect((await keys(store)).sort()).toEqual(['cut#0', 'cut#writing', 'done', 'done#0']);
    clock.t = 3 * HOUR;
    expect(await cache.sweep(1 << 30)).toEqual({ removed: 0, freedBytes: 0, keptBytes: 2000 });
    clock.t = 27 * HOUR;
    expect(await cache.sweep(1 << 30)).toEqual({ removed: 0, freedBytes: 131_072, keptBytes: 2000 });
    expect((await keys(store)).sort()).toEqual(['done', 'done#0']);
  });

  it('counts and removes entries an earlier Hearth stored whole, before newer ones', async () => {
    const { cache, name } = await cacheWith({ new: 5 });
    await set('v1:old', new Uint16Array(500), createStore(name, 'tokens'));
    expect(await cache.sweep(2000)).toEqual({ removed: 1, freedBytes: 1000, keptBytes: 2000 });
    expect(await cache.open('v1:old')).toBeUndefined();
  });
});

describe('folder token cache', () => {
  it('writes a .partial file and renames it when finished', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-cache-'));
    const cache = folderTokenCache(dir);
    const w = cache.create('a:b', 2);
    await w.append(new Uint16Array(100_000)); // more than one write buffer
    expect(readdirSync(dir)).toEqual(['a_b.tokens.partial']);
    await w.finish();
    expect(readdirSync(dir)).toEqual(['a_b.tokens']);
  });
});

describe('JoinedArray', () => {
  it('reads across parts and repeated values as one array', async () => {
    const cache = memoryTokenCache();
    const part = async (key: string, values: number[]) => {
      const w = cache.create(key, 2);
      await w.append(values);
      return { reader: await w.finish() };
    };
    const joined = new JoinedArray([await part('a', [1, 2, 3]), { value: 9, length: 2 }, await part('b', [4, 5])]);
    const whole = [1, 2, 3, 9, 9, 4, 5];
    expect(joined.length).toBe(7);
    for (let a = 0; a <= 7; a++)
      for (let b = a; b <= 7; b++) {
        const out = new Uint16Array(b - a + 2).fill(77);
        await joined.readInto(a, b, out, 1);
        expect(Array.from(out)).toEqual([77, ...whole.slice(a, b), 77]);
      }
  });
});
