// The collator's two label conventions, the seeded batch order, and exact resume from a saved position.
import { describe, expect, it } from 'vitest';
import { BatchSampler, collate, epochOrder, evalBatches, type BlockDataset } from '../../src/core/data/index.ts';
import { IGNORE_INDEX } from '../../src/core/util/targets.ts';

/** Block i holds i*10, i*10+1, ... so every token says where it came from. */
function dataset(numBlocks: number, blockSize: number): BlockDataset {
  const tokens = new Uint16Array(numBlocks * blockSize).map((_, k) => Math.floor(k / blockSize) * 10 + (k % blockSize));
  return { numBlocks, blockSize, tokens };
}

describe('collate', () => {
  it('gives HF inputIds/labels and shifted inputs/targets', () => {
    const b = collate(dataset(5, 4), [3, 1]);
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

describe('evalBatches', () => {
  it('covers every block once, in order, with a smaller last batch', () => {
    const batches = [...evalBatches(dataset(7, 2), 3)];
    expect(batches.map((b) => b.batchSize)).toEqual([3, 3, 1]);
    expect(batches.flatMap((b) => Array.from(b.inputs.filter((_, i) => i % 2 === 0)))).toEqual([
      0, 10, 20, 30, 40, 50, 60,
    ]);
    expect([...evalBatches(dataset(7, 2), 3, 2)]).toHaveLength(2);
  });
});
