// Fine-tuning records in the worker: TRL's SFTConfig from the page's choices, each dropped record file prepared as
// the run will prepare it (its counts, its messages, and its first rows as the model sees them), and the tokenizer
// a run on records uses (a new model's gets a chat template when it has none, as the CLI's does).
import {
  chatFormatterOf,
  DataFileError,
  DatasetError,
  DEFAULT_CHAT_TEMPLATE,
  DEFAULT_SFT_CONFIG,
  fileFormatOf,
  isRecordFormat,
  loadSftDataset,
  sourceFromBlob,
  withChatTemplate,
  type LoadedSftDataset,
  type LoadSftOptions,
  type SftConfig,
  type TextSource,
  type TokenCache,
} from '../core/data/index.ts';
import { readBlocks } from '../core/data/blocks.ts';
import type { Tokenizer } from '../core/tokenizer/types.ts';
import { EngineError, type CountEvent, type SftFileReport, type SftOptions, type SftPreviewRow } from './protocol.ts';

/** Whether a file is read as records (fine-tuning examples): JSON Lines, JSON, CSV, TSV, Parquet. */
export const isRecordFile = (name: string): boolean => isRecordFormat(fileFormatOf(name));

/** TRL's defaults, for a request that names no options. */
export const DEFAULT_SFT_OPTIONS: SftOptions = {
  dataset_text_field: DEFAULT_SFT_CONFIG.dataset_text_field,
  max_length: null,
  packing: DEFAULT_SFT_CONFIG.packing,
  assistant_only_loss: DEFAULT_SFT_CONFIG.assistant_only_loss,
  completion_only_loss: DEFAULT_SFT_CONFIG.completion_only_loss,
};

/**
 * SFTConfig from the page's choices. max_length null: TRL's 1024, at most the model's positions; packing is TRL's
 * default "bfd" strategy (whole examples packed into rows, each at its own positions and attending within itself).
 */
export function sftConfigOf(o: SftOptions, positions: number): Partial<SftConfig> {
  const maxLength = o.max_length ?? Math.min(DEFAULT_SFT_CONFIG.max_length, positions);
  if (!(Number.isInteger(maxLength) && maxLength >= 2 && maxLength <= positions))
    throw new EngineError(
      'invalid-argument',
      `max_length: takes a whole number from 2 to the model's ${positions} positions, got ${maxLength}`,
    );
  return {
    dataset_text_field: o.dataset_text_field.trim() || DEFAULT_SFT_CONFIG.dataset_text_field,
    max_length: maxLength,
    packing: o.packing,
    packing_strategy: 'bfd',
    assistant_only_loss: o.assistant_only_loss,
    completion_only_loss: o.completion_only_loss,
  };
}

const templated = new WeakMap<Tokenizer, Tokenizer>();

/** The tokenizer a run on records reads with: a new model's gets the default chat template when it has none. */
export function sftTokenizer(tokenizer: Tokenizer, newModel: boolean): Tokenizer {
  if (!newModel || chatFormatterOf(tokenizer)) return tokenizer;
  let t = templated.get(tokenizer);
  if (!t) {
    t = withChatTemplate(tokenizer, DEFAULT_CHAT_TEMPLATE) ?? tokenizer;
    templated.set(tokenizer, t);
  }
  return t;
}

export interface SftLoad {
  tokenizer: Tokenizer;
  config: Partial<SftConfig>;
  cache: TokenCache;
}

/** loadSftDataset's options for a load. */
function optionsOf(
  load: SftLoad,
  more: { evalSources?: readonly TextSource[]; evalFraction?: number; onBytes?: (done: number) => void },
): LoadSftOptions {
  return {
    tokenizer: load.tokenizer,
    chat: chatFormatterOf(load.tokenizer),
    config: load.config,
    evalSources: more.evalSources,
    evalFraction: more.evalFraction,
    cache: load.cache,
    onProgress: more.onBytes && ((p) => more.onBytes!(p.allBytesDone)),
  };
}

/** loadSftDataset with the engine's errors. */
export async function loadSft(
  sources: readonly TextSource[],
  load: SftLoad,
  more: { evalSources?: readonly TextSource[]; evalFraction?: number; onBytes?: (done: number) => void },
): Promise<LoadedSftDataset> {
  try {
    return await loadSftDataset(sources, optionsOf(load, more));
  } catch (e) {
    if (e instanceof DatasetError) throw new EngineError('no-data', e.message);
    if (e instanceof DataFileError) throw new EngineError('refused', e.message);
    throw e;
  }
}

/** Rows shown in the preview, and the most tokens shown of each. */
const PREVIEW_ROWS = 3;
const PREVIEW_TOKENS = 256;

/** One record file prepared as training will prepare it: its counts, messages and first rows. */
export async function prepareSftFile(file: File, load: SftLoad, emit: (e: CountEvent) => void): Promise<SftFileReport> {
  let loaded: LoadedSftDataset;
  try {
    loaded = await loadSftDataset(
      [sourceFromBlob(file)],
      optionsOf(load, { evalFraction: 0, onBytes: (done) => emit({ kind: 'bytes', done }) }),
    );
  } catch (e) {
    // A file that gives nothing to train on is refused with every reason it gave (records skipped, a break).
    if (e instanceof DatasetError) {
      const reasons = e.messages.map((m) => m.message).filter((m) => m !== 'gave no examples');
      throw new EngineError('refused', `gave no examples: ${reasons.join('; ') || 'it holds no records'}`);
    }
    if (e instanceof DataFileError) throw new EngineError('refused', e.detail);
    throw e;
  }
  const stats = loaded.files[0];
  const rows = await readBlocks(
    loaded.train,
    Array.from({ length: Math.min(PREVIEW_ROWS, loaded.train.numBlocks) }, (_, i) => i),
  );
  return {
    records: stats.records,
    examples: stats.examples,
    tokens: stats.tokens,
    truncated: stats.truncated,
    truncatedTokens: stats.truncatedTokens,
    dropped: stats.dropped,
    cached: stats.cached,
    rowLength: loaded.blockSize,
    messages: loaded.messages.map((m) => m.message),
    preview: rows.map((r) => previewRow(r.ids, r.lossMask, load.tokenizer)),
  };
}

/** A row as runs of tokens that count for the loss or do not, each run decoded as a whole. */
function previewRow(ids: ArrayLike<number>, mask: ArrayLike<number> | null, tokenizer: Tokenizer): SftPreviewRow {
  const n = Math.min(ids.length, PREVIEW_TOKENS);
  const pieces: SftPreviewRow['pieces'] = [];
  let counted = 0;
  for (let start = 0; start < n;) {
    const counts = !mask || mask[start] === 1;
    let end = start + 1;
    while (end < n && (!mask || mask[end] === 1) === counts) end++;
    if (counts) counted += end - start;
    pieces.push({ text: tokenizer.decode(Array.from(ids).slice(start, end)), counts });
    start = end;
  }
  return { pieces, tokens: ids.length, counted, cut: ids.length > n };
}
