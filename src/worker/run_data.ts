// What a training run trains and evaluates on, kept in IndexedDB under the run's name. A File does not survive a
// reload, so resuming a run after one (or after a lost GPU) reads its blocks from here: the same blocks in the
// same order, so the resumed run continues exactly. Blocks read from the token cache are kept as a manifest of
// its entries (the tokens stay where they are); blocks held in memory are kept as a copy of their tokens. Runs
// with no checkpoint left are swept.
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import {
  isTokenBlocks,
  openTextBlocks,
  residentBlocks,
  type BlockDataset,
  type TextBlocksManifest,
} from '../core/data/blocks.ts';
import type { TokenCache } from '../core/data/cache.ts';
import type { TokenArray } from '../core/data/tokenize.ts';

type StoredBlocks = { tokens: TokenArray } | { manifest: TextBlocksManifest };

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

  /** The run's blocks, or null when it stored none (or stored them at another block size, or the cache lost them). */
  async get(run: string, blockSize: number): Promise<RunDataset | null> {
    const v = await get<StoredRun>(run, this.open());
    if (!v || v.blockSize !== blockSize) return null;
    const reopen = async (s: StoredBlocks): Promise<BlockDataset | null> =>
      'manifest' in s
        ? openTextBlocks(s.manifest, this.cache)
        : { blockSize, numBlocks: s.tokens.length / blockSize, tokens: s.tokens };
    const train = await reopen(v.train);
    const evalData = v.eval ? await reopen(v.eval) : null;
    if (!train || (v.eval && !evalData)) return null;
    return { train, eval: evalData };
  }

  /** Deletes every run's tokens except those of `keep`. */
  async sweep(keep: ReadonlySet<string>): Promise<void> {
    for (const key of await keys(this.open())) {
      if (!keep.has(String(key))) await del(key, this.open());
    }
  }
}
