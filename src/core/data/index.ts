// Training data: files streamed and tokenized into the token cache, TextDataset blocks, TRL SFTTrainer examples
// (records, chats, packing), batches. Node-only helpers (paths, folder cache) are in ./node.ts, outside this index
// for the browser's sake.
export { sourceFromBlob, sourceFromBytes, sourceFromText, type TextSource } from './sources.ts';
export { readTextChunks, DataFileError, fileErrorMessage, type FileMessage, type MessageLevel } from './read_text.ts';
export { fileFormatOf, isRecordFormat, documentTextChunks, type FileFormat } from './documents.ts';
export { readRecords, type DataRecord, type Fields } from './records.ts';
export { RecordProblems, type RecordUnit } from './record_problems.ts';
export { tokenizeSource, type TokenArray } from './tokenize.ts';
export {
  indexedDbTokenCache,
  memoryTokenCache,
  cacheKey,
  contentHash,
  sha256Hex,
  type ArrayReader,
  type ArrayWriter,
  type IndexedDbTokenCache,
  type SweepResult,
  type TokenCache,
} from './cache.ts';
export {
  readBlocks,
  isTokenBlocks,
  type Block,
  type BlockDataset,
  type StoredBlocks,
  type TokenBlocks,
} from './blocks.ts';
export {
  loadTextDataset,
  documentTokens,
  checkEvalFraction,
  DatasetError,
  type LoadedDataset,
  type LoadDatasetOptions,
  type LoadProgress,
} from './dataset.ts';
export {
  chatFormatterOf,
  chatGenerationPrompt,
  DEFAULT_CHAT_TEMPLATE,
  withChatTemplate,
  type ChatFormatter,
  type ChatMessage,
} from './chat.ts';
export { DEFAULT_SFT_CONFIG, type SftConfig } from './sft.ts';
export { bestFitDecreasing } from './packing.ts';
export { loadSftDataset, type LoadSftOptions, type LoadedSftDataset, type SftFileStats } from './sft_dataset.ts';
export {
  BatchSampler,
  collate,
  readBatch,
  evalBatches,
  previewRows,
  epochOrder,
  type Batch,
  type BatchPosition,
  type PreviewRow,
} from './batches.ts';
export { trainTokenizerOnSources, type TrainTokenizerOptions } from './train_tokenizer.ts';
