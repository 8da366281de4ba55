// The collator's two label conventions, the seeded batch order, and exact resume from a saved position.
import { describe, expect, it } from 'vitest';
import { BatchSampler, epochOrder, evalBatches, readBatch, type TokenBlocks } from '../../src/core/data/index.ts';
import { storedBlocks } from '../../src/core/data/blocks.ts';
import { IGNORE_INDEX } from '../../src/core/util/targets.ts';

/** Block i holds i*10, i*10+1, ... so every token says where it came from. */
function dataset(numBlocks: number, blockSize: number): TokenBlocks {
  const tokens = new Uint16Array(numBlocks * blockSize).map((_, k) => Math.floor(k / blockSize) * 10 + (k % blockSize));
  return { numBlocks, blockSize, tokens };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

describe('collate', () => {
  it('gives HF inputIds/labels and shifted inputs/targets', async () => {
    const b = await readBatch(dataset(5, 4), [3, 1]);
    expect(b).toMatchObject({ batchSize: 2, blockSize: 4 });
    expect(Array.from(b.inputIds)).toEqual([30, 31, 32, 33, 10, 11, 12, 13]);
    expect(Array.from(b.labels)).toEqual(Array.from(b.inputIds));
    expect(b.labels).not.toBe(b.inputIds);
    expect(Array.from(b.inputs)).toEqual(Array.from(b.inputIds));
    expect(Array.from(b.targets)).toEqual([31, 32, 33, IGNORE_INDEX, 11, 12, 13, IGNORE_INDEX]);
  });
});

describe('BatchSampler', () => {
  it('visits every block once per epoch in a seeded order that changes each epoch', () => {
    const data = dataset(10, 2);
    const sampler = new BatchSampler(data, 5, { seed: 42 });
    const epoch0 = [...sampler.nextIndices(), ...sampler.nextIndices()];
    const epoch1 = [...sampler.nextIndices(), ...sampler.nextIndices()];
    expect([...epoch0].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epoch1).not.toEqual(epoch0);
    expect(Array.from(epochOrder(10, 42, 0))).toEqual(epoch0);
    expect(Array.from(new BatchSampler(data, 5, { seed: 43 }).nextIndices())).not.toEqual(epoch0.slice(0, 5));
  });

  it('keeps batches full across an epoch boundary', () => {
    const sampler = new BatchSampler(dataset(7, 2), 3, { seed: 1 });
    for (let i = 0; i < 10; i++) expect(sampler.next().batchSize).toBe(3);
    expect(sampler.position).toMatchObject({ epoch: 4, index: 2 });
    expect(sampler.epochProgress).toBeCloseTo(30 / 7);
  });

  it('resumes exactly from a saved position (through JSON, as a checkpoint stores it)', () => {
    const data = dataset(13, 3);
    const sampler = new BatchSampler(data, 4, { seed: 7 });
    for (let i = 0; i < 5; i++) sampler.next();
    const saved = JSON.parse(JSON.stringify(sampler.position));
    const expected = Array.from({ length: 8 }, () => Array.from(sampler.next().inputs));
    const resumed = new BatchSampler(data, 4, saved);
    expect(Array.from({ length: 8 }, () => Array.from(resumed.next().inputs))).toEqual(expected);
  });
});

describe('BatchSampler over blocks read from storage', () => {
  it('hands out the batches it read ahead, in order, and resumes exactly from a position saved between them', async () => {
    const resident = dataset(11, 3);
    const stored = storedBlocks(3, 11, 0, async (i) => ({
      ids: resident.tokens.subarray(i * 3, (i + 1) * 3),
      lossMask: null,
      sequenceStarts: null,
    }));
    const want = new BatchSampler(resident, 4, { seed: 9 });
    const got = new BatchSampler(stored, 4, { seed: 9 });
    expect(() => got.next()).toThrow(/prefetch/);
    await got.prefetch(3);
    for (let i = 0; i < 2; i++) expect(Array.from(got.next().inputs)).toEqual(Array.from(want.next().inputs));
    const saved = got.position;
    const resumed = new BatchSampler(stored, 4, saved);
    for (let i = 0; i < 6; i++) {
      await Promise.all([got.prefetch(1), resumed.prefetch(2)]);
      const expected = Array.from(want.next().inputs);
      expect(Array.from(got.next().inputs)).toEqual(expected);
      expect(Array.from(resumed.next().inputs)).toEqual(expected);
    }
    expect(got.position).toEqual(want.position);
  });
});

describe('evalBatches', () => {
  it('covers every block once, in order, with a smaller last batch', async () => {
    const batches = await collect(evalBatches(dataset(7, 2), 3));
    expect(batches.map((b) => b.batchSize)).toEqual([3, 3, 1]);
    expect(batches.flatMap((b) => Array.from(b.inputs.filter((_, i) => i % 2 === 0)))).toEqual([
      0, 10, 20, 30, 40, 50, 60,
    ]);
    expect(await collect(evalBatches(dataset(7, 2), 3, 2))).toHaveLength(2);
  });
});
