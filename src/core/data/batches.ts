// Batches for training and evaluation. The training order is a seeded shuffle of the blocks,
// reshuffled each epoch; its position (seed, epoch, index) is all a checkpoint needs to resume
// on exactly the batch that would have come next.
import { Random } from '../util/random.ts';
import { IGNORE_INDEX } from '../util/targets.ts';
import { isTokenBlocks, readBlocks, tokenBlocksAt, type Block, type BlockDataset, type TokenBlocks } from './blocks.ts';

/**
 * One batch in both conventions:
 * - Hugging Face (DataCollatorForLanguageModeling): inputIds, and labels (the ids, −100 where a token does not
 *   count: padding, a prompt, a turn that is not the assistant's); GPT2LMHeadModel shifts them itself.
 * - Hearth's model: inputs (the same ids) and targets already shifted, targets[t] = labels[t+1],
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
  /**
   * Present when packed sequences restart their positions (TRL's padding-free packing): each sequence counts from
   * 0, and the model (CausalLM's positionIds) runs every sequence as if alone: its own positions, attention within
   * it only. Absent: 0 .. blockSize−1 in every row.
   */
  positionIds?: Int32Array;
}

/**
 * Blocks into a batch: rows right-padded to blockSize with padTokenId, labels −100 on padding and on tokens whose
 * loss mask is 0, and (packed sequences) on each sequence's first token, which follows another sequence.
 */
export function collate(blocks: readonly Block[], blockSize: number, padTokenId = 0): Batch {
  const B = blocks.length;
  const T = blockSize;
  const inputIds = new Int32Array(B * T).fill(padTokenId);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  let positionIds: Int32Array | undefined;
  blocks.forEach((block, b) => {
    const { ids, lossMask, sequenceStarts } = block;
    if (ids.length > T) throw new Error(`a block of ${ids.length} tokens does not fit in ${T}`);
    const row = b * T;
    for (let t = 0; t < ids.length; t++) {
      inputIds[row + t] = ids[t];
      if (!lossMask || lossMask[t]) labels[row + t] = ids[t];
    }
    if (sequenceStarts) {
      positionIds ??= Int32Array.from({ length: B * T }, (_, k) => k % T);
      for (let s = 0; s < sequenceStarts.length; s++) {
        const start = sequenceStarts[s];
        const end = s + 1 < sequenceStarts.length ? sequenceStarts[s + 1] : T;
        for (let t = start; t < end; t++) positionIds[row + t] = t - start;
        labels[row + start] = IGNORE_INDEX;
      }
    }
  });
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    targets.set(labels.subarray(b * T + 1, (b + 1) * T), b * T);
    targets[b * T + T - 1] = IGNORE_INDEX;
  }
  return {
    batchSize: B,
    blockSize: T,
    inputIds,
    labels,
    inputs: inputIds,
    targets,
    ...(positionIds ? { positionIds } : {}),
  };
}

const padOf = (data: BlockDataset) => (isTokenBlocks(data) ? 0 : data.padTokenId);

/** The batch of these blocks. */
export async function readBatch(data: BlockDataset, indices: ArrayLike<number>): Promise<Batch> {
  return collate(await readBlocks(data, indices), data.blockSize, padOf(data));
}

/** Where the training order stands; plain JSON, saved in checkpoints. */
export interface BatchPosition {
  seed: number;
  epoch: number;
  /** blocks of this epoch's order already handed out */
  index: number;
}

/**
 * What is wrong with a saved position, or null: seed, epoch and index must be whole numbers (a seed fits 32 bits),
 * and with `numBlocks` (the data it meets) the index must lie within one epoch's blocks. The text follows
 * "data_position" in a message.
 */
export function batchPositionProblem(position: unknown, numBlocks?: number): string | null {
  if (typeof position !== 'object' || position === null || Array.isArray(position))
    return ` must be an object {seed, epoch, index}, got ${JSON.stringify(position) ?? String(position)}`;
  const p = position as Record<string, unknown>;
  const whole = (key: string, max: number) =>
    typeof p[key] === 'number' && Number.isInteger(p[key]) && (p[key] as number) >= 0 && (p[key] as number) <= max;
  if (!whole('seed', 0xffffffff)) return `.seed must be a whole number from 0 to 2³²−1, got ${JSON.stringify(p.seed)}`;
  if (!whole('epoch', Number.MAX_SAFE_INTEGER))
    return `.epoch must be a whole number ≥ 0, got ${JSON.stringify(p.epoch)}`;
  if (!whole('index', Number.MAX_SAFE_INTEGER))
    return `.index must be a whole number of blocks ≥ 0, got ${JSON.stringify(p.index)}`;
  if (numBlocks !== undefined && (p.index as number) > numBlocks)
    return `.index ${p.index} lies beyond the ${numBlocks} blocks of an epoch of this data`;
  return null;
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
 * one epoch ends mid-batch (so the step's shapes never change). Blocks held in memory are batched at once;
 * blocks read from storage are read ahead by prefetch(), so that next() never waits.
 */
export class BatchSampler {
  private order: Uint32Array;
  private pos: BatchPosition;
  /** batches read ahead, in the order next() hands them out */
  private ready: Batch[] = [];
  /** where the order stands after the batches read ahead */
  private ahead: { pos: BatchPosition; order: Uint32Array } | null = null;

  constructor(
    readonly data: BlockDataset,
    readonly batchSize: number,
    start: BatchPosition | { seed: number },
  ) {
    if (data.numBlocks === 0) throw new Error('no blocks to draw batches from');
    if ('index' in start) {
      const problem = batchPositionProblem(start, data.numBlocks);
      if (problem) throw new Error(`data_position${problem}`);
    }
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

  /** The block indices of the batch after `cursor`, advancing it. */
  private draw(cursor: { pos: BatchPosition; order: Uint32Array }): Uint32Array {
    const picked = new Uint32Array(this.batchSize);
    for (let k = 0; k < this.batchSize; k++) {
      if (cursor.pos.index >= cursor.order.length) {
        cursor.pos.epoch++;
        cursor.pos.index = 0;
        cursor.order = epochOrder(this.data.numBlocks, cursor.pos.seed, cursor.pos.epoch);
      }
      picked[k] = cursor.order[cursor.pos.index++];
    }
    return picked;
  }

  nextIndices(): Uint32Array {
    const cursor = { pos: this.pos, order: this.order };
    const picked = this.draw(cursor);
    this.order = cursor.order;
    return picked;
  }

  /** Reads the blocks of the next `batches` batches ahead of time (a no-op for blocks held in memory). */
  async prefetch(batches: number): Promise<void> {
    if (isTokenBlocks(this.data)) return;
    this.ahead ??= { pos: { ...this.pos }, order: this.order };
    while (this.ready.length < batches) this.ready.push(await readBatch(this.data, this.draw(this.ahead)));
  }

  next(): Batch {
    if (this.ready.length === 0 && !isTokenBlocks(this.data))
      throw new Error('blocks read from storage must be prefetched (await prefetch()) before next()');
    const indices = this.nextIndices();
    const batch = this.ready.shift();
    if (this.ready.length === 0) this.ahead = null;
    if (batch) return batch;
    return collate(tokenBlocksAt(this.data as TokenBlocks, indices), this.data.blockSize);
  }
}

/** Evaluation batches in order over every block once; the last batch may be smaller. */
export async function* evalBatches(
  data: BlockDataset,
  batchSize: number,
  maxBatches = Infinity,
): AsyncGenerator<Batch> {
  for (let start = 0, n = 0; start < data.numBlocks && n < maxBatches; start += batchSize, n++) {
    const indices = new Uint32Array(Math.min(batchSize, data.numBlocks - start)).map((_, i) => start + i);
    yield await readBatch(data, indices);
  }
}

/** One row as the model sees it: its tokens (no padding), and whether each is a target of the loss. */
export interface PreviewRow {
  ids: number[];
  /** counts[t]: token t is predicted and its loss counts (its label is not −100); the first token never is */
  counts: boolean[];
}

/** The first rows of a dataset as the model sees them, for a preview that marks the tokens that count. */
export async function previewRows(data: BlockDataset, count: number): Promise<PreviewRow[]> {
  const n = Math.min(count, data.numBlocks);
  const blocks = await readBlocks(
    data,
    Array.from({ length: n }, (_, i) => i),
  );
  const batch = collate(blocks, data.blockSize, padOf(data));
  const T = data.blockSize;
  return blocks.map((block, b) => ({
    ids: Array.from(block.ids),
    counts: Array.from(block.ids, (_, t) => t > 0 && batch.targets[b * T + t - 1] !== IGNORE_INDEX),
  }));
}
