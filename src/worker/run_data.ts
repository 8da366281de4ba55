// The tokens a training run trains and evaluates on, kept in IndexedDB under the run's name. A File does not
// survive a reload, so resuming a run after one (or after a lost GPU) reads its blocks from here: the same
// blocks in the same order, so the resumed run continues exactly. Runs with no checkpoint left are swept.
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import { residentBlocks, type BlockDataset } from '../core/data/blocks.ts';
import type { TokenArray } from '../core/data/tokenize.ts';

interface StoredRun {
  blockSize: number;
  train: TokenArray;
  eval: TokenArray | null;
}

export interface RunDataset {
  train: BlockDataset;
  eval: BlockDataset | null;
}

const blocks = (tokens: TokenArray, blockSize: number): BlockDataset => ({
  blockSize,
  numBlocks: tokens.length / blockSize,
  tokens,
});

export class RunDataStore {
  private store: UseStore | null = null;
  private open = (): UseStore => (this.store ??= createStore('hearth-runs', 'datasets'));

  async put(run: string, data: RunDataset): Promise<void> {
    // Copies of exactly the blocks' tokens: IndexedDB would otherwise store each view's whole buffer.
    const copy = async (d: BlockDataset) => (await residentBlocks(d, (n) => new Uint32Array(n))).tokens.slice();
    const value: StoredRun = {
      blockSize: data.train.blockSize,
      train: await copy(data.train),
      eval: data.eval ? await copy(data.eval) : null,
    };
    await set(run, value, this.open());
  }

  /** The run's blocks, or null when it stored none (or stored them at another block size). */
  async get(run: string, blockSize: number): Promise<RunDataset | null> {
    const v = await get<StoredRun>(run, this.open());
    if (!v || v.blockSize !== blockSize) return null;
    return { train: blocks(v.train, blockSize), eval: v.eval ? blocks(v.eval, blockSize) : null };
  }

  /** Deletes every run's tokens except those of `keep`. */
  async sweep(keep: ReadonlySet<string>): Promise<void> {
    for (const key of await keys(this.open())) {
      if (!keep.has(String(key))) await del(key, this.open());
    }
  }
}
