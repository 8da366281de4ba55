// Hugging Face TextDataset semantics over many files: each file is a document, documents are
// joined with <|endoftext|>, and the joined tokens are cut into blocks of blockSize (a remainder
// shorter than a block is dropped). The eval set is either separate files or the last blocks.
// Each file's tokens go to the token cache as they are made, and training reads its blocks from there.
import type { Tokenizer } from '../tokenizer/types.ts';
import { textBlocks, JoinedArray, type JoinedPart, type StoredBlocks } from './blocks.ts';
import { cacheKey, memoryTokenCache, type ArrayReader, type TokenCache } from './cache.ts';
import { documentTextChunks, fileFormatOf } from './documents.ts';
import { fileErrorMessage, type FileMessage } from './read_text.ts';
import type { TextSource } from './sources.ts';

export type { BlockDataset } from './blocks.ts';
import { tokenizeChunks, tokenWidth } from './tokenize.ts';

export interface LoadProgress {
  file: string;
  /** 'cached' when the file's tokens came from the cache */
  phase: 'hashing' | 'tokenizing' | 'cached';
  bytesDone: number;
  bytesTotal: number;
  /** over all files, for one progress bar */
  allBytesDone: number;
  allBytesTotal: number;
}

export interface LoadDatasetOptions {
  tokenizer: Tokenizer;
  blockSize: number;
  /** Files for evaluation; without them the last evalFraction of the blocks is held out. */
  evalSources?: readonly TextSource[];
  /** share of blocks held out for evaluation when there are no eval files (default 0.1; 0 for none) */
  evalFraction?: number;
  /** where tokens are kept and read back from; without one they stay in memory */
  cache?: TokenCache;
  onProgress?: (p: LoadProgress) => void;
}

export interface LoadedDataset {
  train: StoredBlocks;
  /** null when evalFraction is 0, or too little text to hold any back */
  eval: StoredBlocks | null;
  /** per-file errors (those files were skipped) and warnings */
  messages: FileMessage[];
  /** tokens per file that loaded, train files then eval files */
  files: { name: string; tokens: number; cached: boolean }[];
}

/**
 * No file or no usable text at all: nothing to train on. The message says why, with each refused file's reason
 * (`messages` also holds the warnings).
 */
export class DatasetError extends Error {
  constructor(
    headline: string,
    readonly messages: FileMessage[],
  ) {
    const reasons = messages.filter((m) => m.level === 'error').map((m) => `${m.file}: ${m.message}`);
    super(reasons.length ? `${headline}\n${reasons.join('\n')}` : headline);
    this.name = 'DatasetError';
  }
}

/** Calls onProgress for one file at a time, with the bytes of the files before it counted in. */
export class ProgressReporter {
  private before = 0;
  readonly total: number;
  constructor(
    sources: readonly TextSource[],
    private readonly onProgress?: (p: LoadProgress) => void,
  ) {
    this.total = sources.reduce((s, f) => s + f.size, 0);
  }
  /** The reporter for one file; call done() after it. */
  file(source: TextSource): (phase: LoadProgress['phase'], bytesDone: number) => void {
    return (phase, bytesDone) =>
      this.onProgress?.({
        file: source.name,
        phase,
        bytesDone,
        bytesTotal: source.size,
        allBytesDone: this.before + bytesDone,
        allBytesTotal: this.total,
      });
  }
  done(source: TextSource): void {
    this.before += source.size;
  }

  /**
   * Loads the files in turn with `load`, reporting progress; a file that cannot be read (refused, or failing
   * mid-stream) is skipped with its message, and the rest load. `load` may return null to keep nothing.
   */
  async each<T>(
    list: readonly TextSource[],
    messages: FileMessage[],
    load: (source: TextSource, report: (phase: LoadProgress['phase'], bytesDone: number) => void) => Promise<T | null>,
  ): Promise<T[]> {
    const out: T[] = [];
    for (const source of list) {
      try {
        const loaded = await load(source, this.file(source));
        if (loaded !== null) out.push(loaded);
      } catch (e) {
        messages.push(fileErrorMessage(source.name, e));
      }
      this.done(source);
    }
    return out;
  }
}

export async function loadTextDataset(
  sources: readonly TextSource[],
  options: LoadDatasetOptions,
): Promise<LoadedDataset> {
  const { tokenizer, blockSize } = options;
  if (!(blockSize >= 2)) throw new Error(`block size ${blockSize} is too small`);
  checkEvalFraction(options.evalFraction);
  const messages: FileMessage[] = [];
  const files: LoadedDataset['files'] = [];
  const cache = options.cache ?? null;
  const progress = new ProgressReporter([...sources, ...(options.evalSources ?? [])], options.onProgress);

  const load = (list: readonly TextSource[]) =>
    progress.each(list, messages, async (source, report) => {
      const { tokens, cached, key } = await documentTokens(source, tokenizer, cache, {
        report,
        onMessage: (m) => messages.push(m),
      });
      files.push({ name: source.name, tokens: tokens.length, cached });
      if (tokens.length < blockSize) {
        messages.push({
          file: source.name,
          level: 'warning',
          message: `has only ${tokens.length} tokens, less than one block of ${blockSize}; it is joined with the other files`,
        });
      }
      return { reader: tokens, ...(key !== null ? { key } : {}) };
    });

  const trainDocs = await load(sources);
  const evalDocs = options.evalSources?.length ? await load(options.evalSources) : null;
  const joinedTrain = joinDocuments(trainDocs, tokenizer);
  const trainBlocks = Math.floor(joinedTrain.length / blockSize);
  if (trainBlocks === 0) {
    const why =
      trainDocs.length === 0
        ? 'no file could be read'
        : `the files hold ${joinedTrain.length} tokens, less than one block of ${blockSize}`;
    throw new DatasetError(`Nothing to train on: ${why}.`, messages);
  }
  const blocks = (tokens: JoinedArray, first: number, count: number) =>
    textBlocks(tokens, tokenizer.vocabSize, blockSize, first, count, tokenizer.eosTokenId);

  if (evalDocs) {
    const joinedEval = joinDocuments(evalDocs, tokenizer);
    const evalBlocks = Math.floor(joinedEval.length / blockSize);
    if (evalBlocks === 0)
      messages.push({
        file: options.evalSources!.map((s) => s.name).join(', '),
        level: 'warning',
        message: `the evaluation files hold less than one block of ${blockSize} tokens; there will be no evaluation`,
      });
    return {
      train: blocks(joinedTrain, 0, trainBlocks),
      eval: evalBlocks > 0 ? blocks(joinedEval, 0, evalBlocks) : null,
      messages,
      files,
    };
  }

  const held = heldOut(trainBlocks, options.evalFraction ?? 0.1);
  return {
    train: blocks(joinedTrain, 0, trainBlocks - held),
    eval: held > 0 ? blocks(joinedTrain, trainBlocks - held, held) : null,
    messages,
    files,
  };
}

/**
 * The share of blocks (or rows) held out for evaluation, checked before any file is read: from 0 (none) up to, not
 * including, 1 (datasets' train_test_split takes the same range). A share of 5 would leave one training block.
 */
export function checkEvalFraction(fraction: number | undefined): void {
  if (fraction !== undefined && !(fraction >= 0 && fraction < 1))
    throw new RangeError(`eval_split_fraction must be a share from 0 up to (not including) 1, got ${fraction}`);
}

/** Blocks (or rows) held out of n for evaluation: at least one when asked for any, but never the only one. */
export function heldOut(n: number, fraction: number): number {
  return fraction > 0 && n >= 2 ? Math.min(n - 1, Math.max(1, Math.round(n * fraction))) : 0;
}

/**
 * The tokens of one document file (plain text, Markdown, HTML, PDF, Word), from the cache when it has them, else
 * tokenized as the text streams in and written to the cache. Without a cache they are kept in memory.
 */
export async function documentTokens(
  source: TextSource,
  tokenizer: Tokenizer,
  cache: TokenCache | null,
  options: {
    report?: (phase: LoadProgress['phase'], bytesDone: number) => void;
    onMessage?: (m: FileMessage) => void;
  } = {},
): Promise<{ tokens: ArrayReader; cached: boolean; /** null when not cached */ key: string | null }> {
  const report = options.report ?? (() => {});
  let key = 'document';
  if (cache) {
    report('hashing', 0);
    const format = fileFormatOf(source.name);
    // Plain text keeps the first cache's keys; extracted text is keyed apart, by format.
    key = (format === 'text' ? '' : `${format}1:`) + (await cacheKey(source, tokenizer));
    const hit = await cache.open(key);
    if (hit) {
      report('cached', source.size);
      return { tokens: hit, cached: true, key };
    }
  }
  const writer = (cache ?? memoryTokenCache()).create(key, tokenWidth(tokenizer.vocabSize));
  const chunks = documentTextChunks(source, { onBytes: (n) => report('tokenizing', n), onMessage: options.onMessage });
  try {
    await tokenizeChunks(chunks, tokenizer, (ids) => writer.append(ids));
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return { tokens: await writer.finish(), cached: false, key: cache ? key : null };
}

/** Documents joined with <|endoftext|> between them (empty ones left out). */
function joinDocuments(docs: readonly { reader: ArrayReader; key?: string }[], tokenizer: Tokenizer): JoinedArray {
  const parts: JoinedPart[] = [];
  for (const d of docs) {
    if (d.reader.length === 0) continue;
    if (parts.length > 0) parts.push({ value: tokenizer.eosTokenId, length: 1 });
    parts.push(d);
  }
  return new JoinedArray(parts);
}
