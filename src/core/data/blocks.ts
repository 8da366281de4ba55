// The blocks a trainer draws batches from. Plain text (Hugging Face TextDataset) is blocks of exactly blockSize
// tokens; fine-tuning data (TRL SFTTrainer) is rows of up to blockSize tokens, right-padded, with the tokens that
// count for the loss marked. Either kind is held in memory or read from the token cache a block at a time, so a
// corpus larger than memory trains with memory flat in its size.
import type { ArrayReader, StoredArray, TokenCache } from './cache.ts';
import type { PackingOptions } from './packing.ts';
import { tokenArrayFor, type TokenArray } from './tokenize.ts';

/** One block as the collator needs it. */
export interface Block {
  /** the block's tokens: blockSize of them, or fewer (the rest is padding) */
  ids: ArrayLike<number>;
  /** per token, 1 where it counts for the loss (its label is itself) and 0 where its label is −100; null: all count */
  lossMask: ArrayLike<number> | null;
  /**
   * Offsets of the sequences packed in this block, 0 first, when positions restart at each (TRL's padding-free
   * "bfd" packing: position_ids restart, and a sequence's first token is no target); null when the block is one
   * sequence, or text wrapped across examples.
   */
  sequenceStarts: ArrayLike<number> | null;
}

/** Text blocks held in memory end to end, as HF TextDataset cuts them. */
export interface TokenBlocks {
  readonly blockSize: number;
  readonly numBlocks: number;
  /** numBlocks * blockSize tokens */
  readonly tokens: TokenArray;
}

/** Blocks read when a batch needs them (from the token cache, or memory). */
export interface StoredBlocks {
  readonly blockSize: number;
  readonly numBlocks: number;
  /** the id right padding uses (its label is −100 whatever it is); TRL pads with pad_token, else eos_token */
  readonly padTokenId: number;
  readBlocks(indices: ArrayLike<number>): Promise<Block[]>;
  /** how to open these blocks again from the token cache, when they are read from one */
  readonly manifest?: BlocksManifest;
}

/** Text blocks as the token cache holds them: plain JSON, kept with a run so that it resumes on the same blocks. */
export interface TextBlocksManifest {
  blockSize: number;
  first: number;
  count: number;
  padTokenId: number;
  vocabSize: number;
  /** the joined sequence: cache entries by key, and the <|endoftext|> between them */
  parts: ({ key: string } | { value: number; length: number })[];
}

/**
 * Fine-tuning rows as the token cache holds them: plain JSON, like TextBlocksManifest. The rows are planned again
 * from the cached examples' lengths with the same options, which gives the same rows.
 */
export interface SftBlocksManifest {
  sft: 1;
  blockSize: number;
  first: number;
  count: number;
  padTokenId: number;
  vocabSize: number;
  /** the options that plan the rows */
  packing: PackingOptions;
  /** each file's examples, by the key of their cache entries, in order */
  files: string[];
}

export type BlocksManifest = TextBlocksManifest | SftBlocksManifest;

export type BlockDataset = TokenBlocks | StoredBlocks;

export function isTokenBlocks(data: BlockDataset): data is TokenBlocks {
  return 'tokens' in data;
}

function blockOf(data: TokenBlocks, i: number): TokenArray {
  return data.tokens.subarray(i * data.blockSize, (i + 1) * data.blockSize);
}

/** Blocks held in memory, at once. */
export function tokenBlocksAt(data: TokenBlocks, indices: ArrayLike<number>): Block[] {
  return Array.from(indices, (i) => ({ ids: blockOf(data, i), lossMask: null, sequenceStarts: null }));
}

/** The blocks at these indices, in that order. */
export async function readBlocks(data: BlockDataset, indices: ArrayLike<number>): Promise<Block[]> {
  return isTokenBlocks(data) ? tokenBlocksAt(data, indices) : data.readBlocks(indices);
}

/**
 * A piece of a joined sequence: a cached array (with its key when the cache keeps it), or one value repeated (the
 * <|endoftext|> between documents).
 */
export type JoinedPart = { reader: ArrayReader; key?: string } | { value: number; length: number };

/** Several arrays read as one, by range. */
export class JoinedArray {
  /** where each part starts, and (last) the total length */
  private readonly starts: Float64Array;
  readonly length: number;

  constructor(readonly parts: readonly JoinedPart[]) {
    this.starts = new Float64Array(parts.length + 1);
    parts.forEach((p, i) => (this.starts[i + 1] = this.starts[i] + ('reader' in p ? p.reader.length : p.length)));
    this.length = this.starts[parts.length];
  }

  /** Elements [start, end) into out at offset `at`. */
  async readInto(start: number, end: number, out: StoredArray, at = 0): Promise<void> {
    let k = this.partAt(start);
    for (let pos = start; pos < end; k++) {
      const part = this.parts[k];
      const from = pos - this.starts[k];
      const n = Math.min(end, this.starts[k + 1]) - pos;
      if ('reader' in part) out.set(await part.reader.read(from, from + n), at + pos - start);
      else out.fill(part.value, at + pos - start, at + pos - start + n);
      pos += n;
    }
  }

  /** The part holding position pos (binary search). */
  private partAt(pos: number): number {
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Blocks 0..count−1, each read by `read` when a batch needs it. */
export function storedBlocks(
  blockSize: number,
  count: number,
  padTokenId: number,
  read: (i: number) => Promise<Block>,
): StoredBlocks {
  return {
    blockSize,
    numBlocks: count,
    padTokenId,
    async readBlocks(indices) {
      const out: Block[] = [];
      for (const i of Array.from(indices)) {
        if (!(i >= 0 && i < count)) throw new RangeError(`block ${i} of ${count}`);
        out.push(await read(i));
      }
      return out;
    },
  };
}

/** Text blocks [first, first + count) of blockSize tokens cut from a joined sequence of a vocabulary's ids. */
export function textBlocks(
  tokens: JoinedArray,
  vocabSize: number,
  blockSize: number,
  first: number,
  count: number,
  padTokenId: number,
): StoredBlocks {
  const blocks = storedBlocks(blockSize, count, padTokenId, async (i) => {
    const ids = tokenArrayFor(vocabSize, blockSize);
    const start = (first + i) * blockSize;
    await tokens.readInto(start, start + blockSize, ids);
    return { ids, lossMask: null, sequenceStarts: null };
  });
  const parts: TextBlocksManifest['parts'] = [];
  for (const p of tokens.parts) {
    if ('value' in p) parts.push(p);
    else if (p.key !== undefined) parts.push({ key: p.key });
    else return blocks; // held in memory only: nothing to open again
  }
  return { ...blocks, manifest: { blockSize, first, count, padTokenId, vocabSize, parts } };
}

/** The blocks a manifest describes, or null when the cache no longer holds all of them. */
export async function openTextBlocks(manifest: TextBlocksManifest, cache: TokenCache): Promise<StoredBlocks | null> {
  const parts: JoinedPart[] = [];
  for (const p of manifest.parts) {
    if ('value' in p) parts.push(p);
    else {
      const reader = await cache.open(p.key);
      if (!reader) return null;
      parts.push({ reader, key: p.key });
    }
  }
  const m = manifest;
  return textBlocks(new JoinedArray(parts), m.vocabSize, m.blockSize, m.first, m.count, m.padTokenId);
}

/** Text blocks copied into memory (for a store that keeps a run's blocks whole); not for fine-tuning rows. */
export async function residentBlocks(
  data: BlockDataset,
  makeArray: (length: number) => TokenArray,
): Promise<TokenBlocks> {
  if (isTokenBlocks(data)) return data;
  const T = data.blockSize;
  const tokens = makeArray(data.numBlocks * T);
  const step = 256;
  for (let first = 0; first < data.numBlocks; first += step) {
    const indices = Array.from({ length: Math.min(step, data.numBlocks - first) }, (_, k) => first + k);
    (await data.readBlocks(indices)).forEach((b, k) => {
      if (b.lossMask || b.sequenceStarts || b.ids.length !== T)
        throw new Error('fine-tuning rows (padded, with loss masks) cannot be kept as plain text blocks');
      tokens.set(b.ids, (first + k) * T);
    });
  }
  return { blockSize: T, numBlocks: data.numBlocks, tokens };
}
