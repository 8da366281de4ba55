// Right padding needs no attention mask in a causal model: the padded positions come after every real token, so no
// real token attends to them, and their labels are −100. A batch of examples right-padded to one length gives the
// loss of the examples run one by one at their own lengths, through the real model on the GPU.
import { describe, expect, it } from 'vitest';
import { useGpu, rng } from '../helpers.ts';
import { randomModel } from './models.ts';
import { collate, type Block } from '../../src/core/data/index.ts';
import type { ModelDims } from '../../src/core/model/families/index.ts';
import { countTargets } from '../../src/core/util/targets.ts';

const dims: ModelDims = {
  vocab_size: 23,
  n_positions: 24,
  n_embd: 16,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};

describe('right padding', () => {
  useGpu();

  it('padded and unpadded rows give the same loss (no attention mask needed)', async () => {
    const r = rng();
    const model = randomModel(dims, r.seed);
    // Examples of odd lengths; some tokens do not count (a prompt), as in fine-tuning data.
    const lengths = [5, 13, 9, 2];
    const blocks: Block[] = lengths.map((n) => ({
      ids: r.ints(n, dims.vocab_size),
      lossMask: Uint8Array.from({ length: n }, (_, t) => (t < n / 3 ? 0 : 1)),
      sequenceStarts: null,
    }));
    const T = 19; // longer than every example, not a multiple of anything
    const pad = 7;
    const padded = collate(blocks, T, pad);
    expect(Array.from(padded.inputIds.subarray(T - 1, T + 1))).toEqual([pad, blocks[1].ids[0]]);
    const paddedLoss = (await model.loss(padded.inputs, padded.targets, blocks.length, T).data())[0];

    // Each example alone at its own length: the mean over every counted target of all of them.
    let total = 0;
    let count = 0;
    for (const block of blocks) {
      const alone = collate([block], block.ids.length, pad);
      const n = countTargets(alone.targets);
      const loss = (await model.loss(alone.inputs, alone.targets, 1, block.ids.length).data())[0];
      total += loss * n;
      count += n;
    }
    expect(count).toBe(countTargets(padded.targets));
    expect(Math.abs(paddedLoss - total / count), `seed ${r.seed}`).toBeLessThan(1e-5 * Math.max(1, total / count));

    // The padding's ids do not matter either: other padding, same loss.
    const other = collate(blocks, T, 0);
    const otherLoss = (await model.loss(other.inputs, other.targets, blocks.length, T).data())[0];
    expect(Math.abs(otherLoss - paddedLoss)).toBeLessThan(1e-6 * Math.max(1, paddedLoss));
    model.dispose();
  });
});
