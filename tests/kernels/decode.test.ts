import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import {
  createKvCache,
  kvCacheWrite,
  decodeAttention,
  DEFAULT_DECODE_WG,
} from '../../src/core/kernels/decode/index.ts';
import { kvCacheWriteReference, decodeAttentionReference } from '../../src/core/kernels/decode/reference.ts';

interface Case {
  B: number;
  nHead: number;
  /** grouped-query attention: key/value heads shared by nHead / nKvHead query heads each */
  nKvHead?: number;
  hd: number;
  capacity: number;
  /** positions already cached before the step */
  past: number;
  /** new positions in the step (1 for decoding, the prompt for a prefill) */
  Tq: number;
  wg?: number;
}

// A prefill (past 0), single-token steps at and just past key-tile edges, several new rows on top of a cache,
// heads wider than the workgroup (each thread then owns several output dimensions), a cache filled to capacity.
const CASES: Case[] = [
  { B: 1, nHead: 1, hd: 8, capacity: 4, past: 0, Tq: 1 },
  { B: 2, nHead: 3, hd: 7, capacity: 40, past: 0, Tq: 33 },
  { B: 2, nHead: 2, hd: 16, capacity: 130, past: 64, Tq: 1 },
  { B: 1, nHead: 2, hd: 5, capacity: 130, past: 129, Tq: 1 },
  { B: 2, nHead: 1, hd: 65, capacity: 70, past: 5, Tq: 7, wg: 32 },
  { B: 1, nHead: 2, hd: 130, capacity: 33, past: 30, Tq: 3 },
  { B: 3, nHead: 2, hd: 9, capacity: 65, past: 33, Tq: 1, wg: 16 },
  { B: 2, nHead: 4, nKvHead: 2, hd: 6, capacity: 37, past: 0, Tq: 9 },
  { B: 1, nHead: 6, nKvHead: 1, hd: 10, capacity: 70, past: 65, Tq: 1 },
  { B: 2, nHead: 9, nKvHead: 3, hd: 7, capacity: 20, past: 11, Tq: 2, wg: 16 },
];

const label = (c: Case) =>
  `B=${c.B} nHead=${c.nHead} nKvHead=${c.nKvHead ?? c.nHead} hd=${c.hd} capacity=${c.capacity} past=${c.past} Tq=${c.Tq} wg=${c.wg ?? DEFAULT_DECODE_WG}`;

describe('KV cache write and decode attention', () => {
  useGpu();

  for (const c of CASES) {
    it(`cache rows and attention output match the float64 reference, ${label(c)}`, async () => {
      const { B, nHead, hd, capacity, past, Tq } = c;
      const nKvHead = c.nKvHead ?? nHead;
      const C = nHead * hd;
      const W = C + 2 * nKvHead * hd;
      const heads = { nHead, nKvHead };
      const shape = { B, nHead, nKvHead, hd, capacity };
      const r = rng();
      const kCache = createKvCache(B, nKvHead, capacity, hd);
      const vCache = createKvCache(B, nKvHead, capacity, hd);
      const refK = new Float64Array(B * nKvHead * capacity * hd);
      const refV = new Float64Array(refK.length);

      // Earlier positions arrive as one earlier write (as a prefill leaves them).
      if (past > 0) {
        const earlier = r.normals(B * past * W, 1.5);
        const t = tf.tensor3d(earlier, [B, past, W]);
        kvCacheWrite(t, kCache, vCache, 0, heads);
        kvCacheWriteReference(earlier, refK, refV, past, 0, shape);
        t.dispose();
      }
      const step = r.normals(B * Tq * W, 1.5);
      const qkv = tf.tensor3d(step, [B, Tq, W]);
      kvCacheWrite(qkv, kCache, vCache, past, heads);
      kvCacheWriteReference(step, refK, refV, Tq, past, shape);
      const out = decodeAttention(qkv, kCache, vCache, past, heads, c.wg);
      expect(out.shape).toEqual([B, Tq, C]);

      const expected = decodeAttentionReference(step, refK, refV, Tq, past, shape);
      expectClose(await out.data(), expected, 1e-4, `seed ${r.seed} out`);
      // Only rows written so far are defined; the rest still hold the NaN the test poisoned them with.
      const filled = (a: ArrayLike<number>) => {
        const rows: number[] = [];
        for (let bh = 0; bh < B * nKvHead; bh++)
          for (let j = 0; j < (past + Tq) * hd; j++) rows.push(a[bh * capacity * hd + j]);
        return rows;
      };
      expectClose(filled(await kCache.data()), filled(refK), 1e-6, `seed ${r.seed} k cache`);
      expectClose(filled(await vCache.data()), filled(refV), 1e-6, `seed ${r.seed} v cache`);
      tf.dispose([kCache, vCache, qkv, out]);
    });
  }

  it('refuses positions beyond the cache and caches of the wrong shape', () => {
    const kCache = createKvCache(1, 2, 4, 3);
    const vCache = createKvCache(1, 2, 4, 3);
    const qkv = tf.zeros([1, 2, 18]) as tf.Tensor3D;
    expect(() => kvCacheWrite(qkv, kCache, vCache, 3, 2)).toThrow(/capacity 4/);
    expect(() => decodeAttention(qkv, kCache, vCache, 0, 4)).toThrow(/nHead = 4/);
    const wrong = createKvCache(2, 2, 4, 3);
    expect(() => kvCacheWrite(qkv, wrong, vCache, 0, 2)).toThrow(/expected \[1, 2, capacity, 3\]/);
    tf.dispose([kCache, vCache, qkv, wrong]);
  });
});
