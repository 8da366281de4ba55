// What a training run trains and evaluates on, kept in IndexedDB under the run's name. A File does not survive a
// reload, so resuming a run after one (or after a lost GPU) reads its blocks from here: the same blocks in the
// same order, so the resumed run continues exactly. Blocks read from the token cache (plain text, and fine-tuning
// rows with their loss masks) are kept as a manifest of its entries (the tokens stay where they are); text blocks
// held in memory are kept as a copy of their tokens. Runs with no checkpoint left are swept.
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import {
  isTokenBlocks,
  openTextBlocks,
  residentBlocks,
  type BlockDataset,
  type BlocksManifest,
} from '../core/data/blocks.ts';
import type { TokenCache } from '../core/data/cache.ts';
import { openSftBlocks } from '../core/data/sft_dataset.ts';
import type { TokenArray } from '../core/data/tokenize.ts';

type StoredBlocks = { tokens: TokenArray } | { manifest: BlocksManifest };

interface StoredRun {
  blockSize: number;
  train: StoredBlocks;
  eval: StoredBlocks | null;
}

export interface RunDataset {
  train: BlockDataset;
  eval: BlockDataset | null;
}

export class RunDataStore {
  private store: UseStore | null = null;
  private open = (): UseStore => (this.store ??= createStore('hearth-runs', 'datasets'));

  /** @param cache where blocks kept as a manifest are read from */
  constructor(private readonly cache: TokenCache) {}

  async put(run: string, data: RunDataset): Promise<void> {
    const keep = async (d: BlockDataset): Promise<StoredBlocks> =>
      !isTokenBlocks(d) && d.manifest
        ? { manifest: d.manifest }
        : // Copies of exactly the blocks' tokens: IndexedDB would otherwise store each view's whole buffer.
          { tokens: (await residentBlocks(d, (n) => new Uint32Array(n))).tokens.slice() };
    const value: StoredRun = {
      blockSize: data.train.blockSize,
      train: await keep(data.train),
      eval: data.eval ? await keep(data.eval) : null,
    };
    await set(run, value, this.open());
  }

  /**
   * The run's blocks, or null when it stored none (or stored text blocks at another block size, or the cache lost
   * them). Fine-tuning rows have the length their examples gave them (`fineTuning`), which block_size follows.
   */
  async get(run: string, blockSize: number): Promise<(RunDataset & { fineTuning: boolean }) | null> {
    const v = await get<StoredRun>(run, this.open());
    const fineTuning = v !== undefined && 'manifest' in v.train && 'sft' in v.train.manifest;
    if (!v || (v.blockSize !== blockSize && !fineTuning)) return null;
    const reopen = async (s: StoredBlocks): Promise<BlockDataset | null> =>
      'manifest' in s
        ? 'sft' in s.manifest
          ? openSftBlocks(s.manifest, this.cache)
          : openTextBlocks(s.manifest, this.cache)
        : { blockSize, numBlocks: s.tokens.length / blockSize, tokens: s.tokens };
    const train = await reopen(v.train);
    const evalData = v.eval ? await reopen(v.eval) : null;
    if (!train || (v.eval && !evalData)) return null;
    return { train, eval: evalData, fineTuning };
  }

  /** Deletes every run's tokens except those of `keep`. */
  async sweep(keep: ReadonlySet<string>): Promise<void> {
    for (const key of await keys(this.open())) {
      if (!keep.has(String(key))) await del(key, this.open());
    }
  }
}
