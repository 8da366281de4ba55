// Batches for training and evaluation. The training order is a seeded shuffle of the blocks,
// reshuffled each epoch; its position (seed, epoch, index) is all a checkpoint needs to resume
// on exactly the batch that would have come next.
import { Random } from '../util/random.ts';
import { IGNORE_INDEX } from '../util/targets.ts';
import { blockOf, type BlockDataset } from './dataset.ts';

/**
 * One batch in both conventions:
 * - Hugging Face (DataCollatorForLanguageModeling, mlm=False): inputIds, and labels equal to
 *   inputIds; GPT2LMHeadModel shifts them itself.
 * - Hearth's model: inputs (the same ids) and targets already shifted, targets[t] = inputs[t+1],
 *   with IGNORE_INDEX at each row's last position, so both give the same loss.
 * All are (batchSize, blockSize) row-major.
 */
export interface Batch {
  batchSize: number;
  blockSize: number;
  inputIds: Int32Array;
  labels: Int32Array;
  inputs: Int32Array;
  targets: Int32Array;
}

export function collate(data: BlockDataset, blockIndices: ArrayLike<number>): Batch {
  const B = blockIndices.length;
  const T = data.blockSize;
  const inputIds = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const block = blockOf(data, blockIndices[b]);
    inputIds.set(block, b * T);
    targets.set(block.subarray(1), b * T);
    targets[b * T + T - 1] = IGNORE_INDEX;
  }
  return { batchSize: B, blockSize: T, inputIds, labels: inputIds.slice(), inputs: inputIds, targets };
}

/** Where the training order stands; plain JSON, saved in checkpoints. */
export interface BatchPosition {
  seed: number;
  epoch: number;
  /** blocks of this epoch's order already handed out */
  index: number;
}

/** splitmix32-style mixing: a well-spread 32-bit state from (seed, epoch). */
function mix(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A permutation of 0..n-1 fixed by (seed, epoch): Fisher-Yates driven by mulberry32. */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return new Random(mix(seed, epoch)).shuffle(order) as Uint32Array;
}

/**
 * Training batches forever: every batch is full, running on into the next epoch's order when
 * one epoch ends mid-batch (so the step's shapes never change).
 */
export class BatchSampler {
  private order: Uint32Array;
  private pos: BatchPosition;

  constructor(
    readonly data: BlockDataset,
    readonly batchSize: number,
    start: BatchPosition | { seed: number },
  ) {
    if (data.numBlocks === 0) throw new Error('no blocks to draw batches from');
    this.pos = {
      seed: start.seed >>> 0,
      epoch: 'epoch' in start ? start.epoch : 0,
      index: 'index' in start ? start.index : 0,
    };
    this.order = epochOrder(data.numBlocks, this.pos.seed, this.pos.epoch);
  }

  /** Copy of the position: restoring it with a new sampler replays the batches from here. */
  get position(): BatchPosition {
    return { ...this.pos };
  }

  /** Blocks seen so far divided by blocks per epoch. */
  get epochProgress(): number {
    return this.pos.epoch + this.pos.index / this.data.numBlocks;
  }

  nextIndices(): Uint32Array {
    const picked = new Uint32Array(this.batchSize);
    for (let k = 0; k < this.batchSize; k++) {
      if (this.pos.index >= this.order.length) {
        this.pos.epoch++;
        this.pos.index = 0;
        this.order = epochOrder(this.data.numBlocks, this.pos.seed, this.pos.epoch);
      }
      picked[k] = this.order[this.pos.index++];
    }
    return picked;
  }

  next(): Batch {
    return collate(this.data, this.nextIndices());
  }
}

/** Evaluation batches in order over every block once; the last batch may be smaller. */
export function* evalBatches(data: BlockDataset, batchSize: number, maxBatches = Infinity): Generator<Batch> {
  for (let start = 0, n = 0; start < data.numBlocks && n < maxBatches; start += batchSize, n++) {
    const indices = new Uint32Array(Math.min(batchSize, data.numBlocks - start)).map((_, i) => start + i);
    yield collate(data, indices);
  }
}
