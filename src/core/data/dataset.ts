// Hugging Face TextDataset semantics over many files: each file is a document, documents are
// joined with <|endoftext|>, and the joined tokens are cut into blocks of blockSize (a remainder
// shorter than a block is dropped). The eval set is either separate files or the last blocks.
import type { Tokenizer } from '../tokenizer/types.ts';
import { cacheKey, noTokenCache, type TokenCache } from './cache.ts';
import { fileErrorMessage, type FileMessage } from './read_text.ts';
import type { TextSource } from './sources.ts';
import { tokenArrayFor, tokenizeSource, type TokenArray } from './tokenize.ts';

/** Blocks of blockSize tokens, stored end to end. */
export interface BlockDataset {
  readonly blockSize: number;
  readonly numBlocks: number;
  /** numBlocks * blockSize tokens */
  readonly tokens: TokenArray;
}

export function blockOf(data: BlockDataset, i: number): TokenArray {
  return data.tokens.subarray(i * data.blockSize, (i + 1) * data.blockSize);
}

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
  cache?: TokenCache;
  onProgress?: (p: LoadProgress) => void;
}

export interface LoadedDataset {
  train: BlockDataset;
  /** null when evalFraction is 0, or too little text to hold any back */
  eval: BlockDataset | null;
  /** per-file errors (those files were skipped) and warnings */
  messages: FileMessage[];
  /** tokens per file that loaded, train files then eval files */
  files: { name: string; tokens: number; cached: boolean }[];
}

/** No file or no usable text at all: nothing to train on. The message says why. */
export class DatasetError extends Error {
  constructor(
    message: string,
    readonly messages: FileMessage[],
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

export async function loadTextDataset(
  sources: readonly TextSource[],
  options: LoadDatasetOptions,
): Promise<LoadedDataset> {
  const { tokenizer, blockSize } = options;
  if (!(blockSize >= 2)) throw new Error(`block size ${blockSize} is too small`);
  const messages: FileMessage[] = [];
  const files: LoadedDataset['files'] = [];
  const all = [...sources, ...(options.evalSources ?? [])];
  const allBytesTotal = all.reduce((s, f) => s + f.size, 0);
  let allBytesBefore = 0;

  const load = async (list: readonly TextSource[]): Promise<TokenArray[]> => {
    const docs: TokenArray[] = [];
    for (const source of list) {
      const report = (phase: LoadProgress['phase'], bytesDone: number) =>
        options.onProgress?.({
          file: source.name,
          phase,
          bytesDone,
          bytesTotal: source.size,
          allBytesDone: allBytesBefore + bytesDone,
          allBytesTotal,
        });
      try {
        const { tokens, cached } = await loadOne(source, options, messages, report);
        docs.push(tokens);
        files.push({ name: source.name, tokens: tokens.length, cached });
        if (tokens.length < blockSize) {
          messages.push({
            file: source.name,
            level: 'warning',
            message: `has only ${tokens.length} tokens, less than one block of ${blockSize}; it is joined with the other files`,
          });
        }
      } catch (e) {
        // A file that cannot be read (refused, or failing mid-stream) is skipped; the rest load.
        messages.push(fileErrorMessage(source.name, e));
      }
      allBytesBefore += source.size;
    }
    return docs;
  };

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
      train: blocks(joinedTrain, blockSize, 0, trainBlocks),
      eval: evalBlocks > 0 ? blocks(joinedEval, blockSize, 0, evalBlocks) : null,
      messages,
      files,
    };
  }

  const fraction = options.evalFraction ?? 0.1;
  // Hold out at least one block when asked to hold out any, but never the only block.
  const held =
    fraction > 0 && trainBlocks >= 2 ? Math.min(trainBlocks - 1, Math.max(1, Math.round(trainBlocks * fraction))) : 0;
  return {
    train: blocks(joinedTrain, blockSize, 0, trainBlocks - held),
    eval: held > 0 ? blocks(joinedTrain, blockSize, trainBlocks - held, held) : null,
    messages,
    files,
  };
}

async function loadOne(
  source: TextSource,
  options: LoadDatasetOptions,
  messages: FileMessage[],
  report: (phase: LoadProgress['phase'], bytesDone: number) => void,
): Promise<{ tokens: TokenArray; cached: boolean }> {
  const cache = options.cache ?? noTokenCache;
  let key: string | null = null;
  if (cache !== noTokenCache) {
    report('hashing', 0);
    key = await cacheKey(source, options.tokenizer);
    const hit = await cache.get(key);
    if (hit) {
      report('cached', source.size);
      return { tokens: hit, cached: true };
    }
  }
  const tokens = await tokenizeSource(source, options.tokenizer, {
    onBytes: (n) => report('tokenizing', n),
    onMessage: (m) => messages.push(m),
  });
  if (key !== null && tokens.length > 0) await cache.set(key, tokens);
  return { tokens, cached: false };
}

/** Documents joined with <|endoftext|> between them. */
function joinDocuments(docs: readonly TokenArray[], tokenizer: Tokenizer): TokenArray {
  const nonEmpty = docs.filter((d) => d.length > 0);
  const length = nonEmpty.reduce((s, d) => s + d.length, 0) + Math.max(0, nonEmpty.length - 1);
  const out = tokenArrayFor(tokenizer.vocabSize, length);
  let at = 0;
  nonEmpty.forEach((d, i) => {
    if (i > 0) out[at++] = tokenizer.eosTokenId;
    out.set(d, at);
    at += d.length;
  });
  return out;
}

function blocks(tokens: TokenArray, blockSize: number, firstBlock: number, numBlocks: number): BlockDataset {
  return {
    blockSize,
    numBlocks,
    tokens: tokens.subarray(firstBlock * blockSize, (firstBlock + numBlocks) * blockSize),
  };
}
