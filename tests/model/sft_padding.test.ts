// Right padding needs no attention mask in a causal model: the padded positions come after every real token, so no
// real token attends to them, and their labels are −100. A batch of examples right-padded to one length gives the
// loss of the examples run one by one at their own lengths, through the real model on the GPU.
// Packed rows (TRL's bfd, padding-free): several sequences in one row, position ids restarting at each, attention
// within each; the loss and every gradient are those of the same sequences each in its own right-padded row.
import { describe, expect, it } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { GPT_NEO_DIMS, LLAMA_GQA_DIMS, NEOX_PARALLEL_DIMS, randomModel } from './models.ts';
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

describe('packed rows (bfd, padding-free)', () => {
  useGpu();

  const FAMILIES: [string, ModelDims][] = [
    ['GPT-2', dims],
    ['Llama (GQA, llama3 rope scaling)', LLAMA_GQA_DIMS],
    ['GPT-NeoX (partial rotary, parallel residual)', NEOX_PARALLEL_DIMS],
    ['GPT-Neo (a local layer of window 3)', GPT_NEO_DIMS],
  ];
  for (const [label, d] of FAMILIES) {
    it(`${label}: sequences packed in one row give the loss and gradients of each in its own row`, async () => {
      const r = rng();
      const model = randomModel(d, r.seed);
      const V = model.sizes.vocab_size;
      // Three sequences (one of a single token) packed in rows with padding after them; prompts do not count.
      const lengths = [6, 1, 7];
      const sequences = lengths.map((n) => ({
        ids: r.ints(n, V),
        lossMask: Uint8Array.from({ length: n }, (_, t) => (t < 2 ? 0 : 1)),
      }));
      const T = 15;
      const pad = 3;
      const packedBlock: Block = {
        ids: Int32Array.from(sequences.flatMap((q) => Array.from(q.ids))),
        lossMask: Uint8Array.from(sequences.flatMap((q) => Array.from(q.lossMask))),
        sequenceStarts: Int32Array.of(0, 6, 7),
      };
      const packed = collate([packedBlock], T, pad);
      expect(Array.from(packed.positionIds!)).toEqual([0, 1, 2, 3, 4, 5, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
      const alone = collate(
        sequences.map((q) => ({ ...q, sequenceStarts: null })),
        T,
        pad,
      );
      expect(countTargets(packed.targets)).toBe(countTargets(alone.targets));
      const positionIds = packed.positionIds!;
      const want = model.lossAndGrads(alone.inputs, alone.targets, lengths.length, T);
      const wantLoss = (await want.loss.data())[0];
      for (const checkpoint of [false, true]) {
        const got = model.lossAndGrads(packed.inputs, packed.targets, 1, T, { positionIds, checkpoint });
        const what = `seed ${r.seed}${checkpoint ? ', gradient checkpointing' : ''}`;
        expect(Math.abs((await got.loss.data())[0] - wantLoss), `${what} loss`).toBeLessThan(
          1e-4 * Math.max(1, wantLoss),
        );
        for (const [name, g] of want.grads) {
          expect(relError(await got.grads.get(name)!.data(), await g.data()), `${what}: ${name}`).toBeLessThan(1e-4);
        }
        tf.dispose([got.loss, ...got.grads.values()]);
      }
      // Evaluation's loss (no gradients) agrees too; without the position ids the packed row is another thing.
      const evalLoss = (await model.loss(packed.inputs, packed.targets, 1, T, { positionIds }).data())[0];
      expect(Math.abs(evalLoss - wantLoss), `seed ${r.seed} loss()`).toBeLessThan(1e-4 * Math.max(1, wantLoss));
      const unpacked = (await model.loss(packed.inputs, packed.targets, 1, T).data())[0];
      expect(Math.abs(unpacked - wantLoss), `seed ${r.seed} without position ids`).toBeGreaterThan(1e-3);
      tf.dispose([want.loss, ...want.grads.values()]);
      model.dispose();
    });
  }

  it('refuses position ids that do not count up from 0 within each sequence, or not one per token', () => {
    const model = randomModel(dims, 1);
    const tokens = new Int32Array(8);
    const targets = new Int32Array(8);
    const loss = (positionIds: Int32Array) => model.loss(tokens, targets, 2, 4, { positionIds });
    expect(() => loss(new Int32Array(7))).toThrow(/expected 8 position ids/);
    expect(() => loss(Int32Array.of(0, 1, 2, 3, 1, 2, 3, 4))).toThrow(/position id 1 of token 0 in row 1/);
    expect(() => loss(Int32Array.of(0, 1, 3, 0, 0, 1, 2, 3))).toThrow(/position id 3 of token 2 in row 0/);
    model.dispose();
  });
});
