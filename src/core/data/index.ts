// Training data: files streamed and tokenized (cached), TextDataset blocks, batches. Node-only
// helpers (paths, folder cache) are in ./node.ts, outside this index for the browser's sake.
export { sourceFromBlob, sourceFromBytes, sourceFromText, type TextSource } from './sources.ts';
export { readTextChunks, DataFileError, fileErrorMessage, type FileMessage, type MessageLevel } from './read_text.ts';
export { tokenizeSource, TokenBuffer, type TokenArray } from './tokenize.ts';
export {
  indexedDbTokenCache,
  memoryTokenCache,
  noTokenCache,
  cacheKey,
  contentHash,
  type TokenCache,
} from './cache.ts';
export {
  loadTextDataset,
  blockOf,
  DatasetError,
  type BlockDataset,
  type LoadedDataset,
  type LoadDatasetOptions,
  type LoadProgress,
} from './dataset.ts';
export { BatchSampler, collate, evalBatches, epochOrder, type Batch, type BatchPosition } from './batches.ts';
export { trainTokenizerOnSources, type TrainTokenizerOptions } from './train_tokenizer.ts';
