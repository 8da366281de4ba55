// Fine-tuning data as TRL's SFTTrainer prepares it: every record of every file an example (sft.ts), cached per file
// (ids, loss masks, example lengths) by content, tokenizer, chat template and the options that shape them; then
// rows planned from the lengths alone (packing.ts), and read from the cache a batch at a time. Document files
// (text, Markdown, HTML, PDF, Word) are one text record each.
import type { Tokenizer } from '../tokenizer/types.ts';
import { JoinedArray, storedBlocks, type JoinedPart, type SftBlocksManifest, type StoredBlocks } from './blocks.ts';
import {
  contentHash,
  GrowingArray,
  memoryTokenCache,
  sha256Hex,
  tokenizerHash,
  type ArrayReader,
  type ArrayWriter,
  type TokenCache,
} from './cache.ts';
import type { ChatFormatter } from './chat.ts';
import { checkEvalFraction, DatasetError, heldOut, ProgressReporter, type LoadProgress } from './dataset.ts';
import { documentTextChunks, fileFormatOf, isRecordFormat } from './documents.ts';
import { planRows, type PackingOptions, type RowPlan } from './packing.ts';
import { DataFileError, type FileMessage } from './read_text.ts';
import { RecordProblems } from './record_problems.ts';
import { readRecords } from './records.ts';
import {
  DEFAULT_SFT_CONFIG,
  exampleMaker,
  makeExample,
  RecordError,
  type ExampleMaker,
  type ExampleNotes,
  type SftConfig,
} from './sft.ts';
import type { TextSource } from './sources.ts';
import { tokenArrayFor, tokenizeChunks, tokenWidth, type TokenArray } from './tokenize.ts';

export interface LoadSftOptions {
  tokenizer: Tokenizer;
  /** the model's chat template, for conversations; records that are conversations are skipped without one */
  chat?: ChatFormatter | null;
  /** SFTConfig fields; the rest take TRL's defaults */
  config?: Partial<SftConfig>;
  /** Files for evaluation; without them the last evalFraction of the rows is held out. */
  evalSources?: readonly TextSource[];
  /** share of rows held out for evaluation when there are no eval files (default 0.1; 0 for none) */
  evalFraction?: number;
  /** the id padding uses (TRL: the tokenizer's pad_token, else its eos_token) */
  padTokenId?: number;
  cache?: TokenCache;
  onProgress?: (p: LoadProgress) => void;
}

/** What each file gave: the page's and the CLI's per-file counts. */
export interface SftFileStats {
  name: string;
  /** records read (a document file is one) */
  records: number;
  /** records that made an example (the others were skipped, with a message) */
  examples: number;
  /** tokens of those examples */
  tokens: number;
  /** examples cut to max_length, and the tokens cut off */
  truncated: number;
  truncatedTokens: number;
  /** examples left out: nothing that counts for the loss was left after truncation */
  dropped: number;
  cached: boolean;
}

export interface LoadedSftDataset {
  train: StoredBlocks;
  eval: StoredBlocks | null;
  /** the rows' length: max_length, or the longest row when every row is shorter (padding costs compute) */
  blockSize: number;
  config: SftConfig;
  messages: FileMessage[];
  /** train files, then eval files */
  files: SftFileStats[];
}

/** A file's examples as cached. */
interface PreparedFile {
  name: string;
  /** the key its cache entries share */
  key: string;
  ids: ArrayReader;
  /** null: every token counts */
  mask: ArrayReader | null;
  lengths: Uint32Array;
  /** per example, the index of its first token that counts (its length when none) */
  firstCounted: Uint32Array;
  records: number;
  cached: boolean;
}

/** What a cache entry keeps beside the arrays: the counts, and the messages to show again on a hit. */
interface FileReport {
  records: number;
  messages: FileMessage[];
  hasMask: boolean;
}

export async function loadSftDataset(
  sources: readonly TextSource[],
  options: LoadSftOptions,
): Promise<LoadedSftDataset> {
  const config: SftConfig = { ...DEFAULT_SFT_CONFIG, ...options.config };
  if (!(config.max_length >= 2)) throw new Error(`max_length ${config.max_length} is too small`);
  checkEvalFraction(options.evalFraction);
  const { tokenizer } = options;
  const maker = exampleMaker(tokenizer, options.chat ?? null, config);
  const cache = options.cache ?? memoryTokenCache();
  const messages: FileMessage[] = [];
  const progress = new ProgressReporter([...sources, ...(options.evalSources ?? [])], options.onProgress);

  const load = (list: readonly TextSource[]) =>
    progress.each(list, messages, async (source, report) => {
      const prepared = await prepareFile(source, maker, cache, report, messages);
      if (prepared.lengths.length > 0) return prepared;
      messages.push({ file: source.name, level: 'error', message: 'gave no examples' });
      return null;
    });

  const trainFiles = await load(sources);
  const evalFiles = options.evalSources?.length ? await load(options.evalSources) : null;
  const files: SftFileStats[] = [];
  const train = rowsOf(trainFiles, config, files);
  if (train.rows === 0)
    throw new DatasetError(
      `Nothing to train on: ${trainFiles.length === 0 ? 'no file gave examples' : 'every example was dropped'}.`,
      messages,
    );
  const evalRows = evalFiles ? rowsOf(evalFiles, config, files) : null;
  const blockSize = Math.min(config.max_length, Math.max(train.plan.longest, evalRows?.plan.longest ?? 0));
  const padTokenId = options.padTokenId ?? tokenizer.eosTokenId;
  const packing: PackingOptions = {
    max_length: config.max_length,
    packing: config.packing,
    packing_strategy: config.packing_strategy,
  };
  // Rows read from a cache that outlives this load can be opened again from their manifest (a resumed run's).
  const blocks = (r: PlannedRows, first: number, count: number) =>
    sftBlocks(
      r,
      {
        sft: 1,
        blockSize,
        first,
        count,
        padTokenId,
        vocabSize: tokenizer.vocabSize,
        packing,
        files: r.keys,
      },
      options.cache !== undefined,
    );

  if (evalRows) {
    if (evalRows.rows === 0)
      messages.push({
        file: options.evalSources!.map((s) => s.name).join(', '),
        level: 'warning',
        message: 'the evaluation files gave no examples; there will be no evaluation',
      });
    return {
      train: blocks(train, 0, train.rows),
      eval: evalRows.rows > 0 ? blocks(evalRows, 0, evalRows.rows) : null,
      blockSize,
      config,
      messages,
      files,
    };
  }
  const held = heldOut(train.rows, options.evalFraction ?? 0.1);
  return {
    train: blocks(train, 0, train.rows - held),
    eval: held > 0 ? blocks(train, train.rows - held, held) : null,
    blockSize,
    config,
    messages,
    files,
  };
}

/** The cache key of a file's examples: everything that shapes them. */
async function sftKey(source: TextSource, maker: ExampleMaker): Promise<string> {
  const c = maker.config;
  const shape = JSON.stringify({
    content: await contentHash(source),
    tokenizer: await tokenizerHash(maker.tokenizer),
    template: maker.chat ? await sha256Hex(maker.chat.template) : null,
    field: c.dataset_text_field,
    completionOnly: c.completion_only_loss ?? true,
    assistantOnly: c.assistant_only_loss,
    eos: maker.eos,
  });
  return `sft1:${await sha256Hex(shape)}`;
}

/** A file's examples from the cache, with the messages it gave when it was read; null when not cached. */
async function openPrepared(
  key: string,
  name: string,
  cache: TokenCache,
): Promise<{ file: PreparedFile; messages: FileMessage[] } | null> {
  const reportReader = await cache.open(`${key}:report`);
  if (!reportReader) return null;
  const report = JSON.parse(new TextDecoder().decode(await reportReader.read(0, reportReader.length))) as FileReport;
  const [ids, mask, examples] = await Promise.all([
    cache.open(`${key}:ids`),
    report.hasMask ? cache.open(`${key}:mask`) : null,
    cache.open(`${key}:examples`),
  ]);
  if (!ids || !examples || (report.hasMask && !mask)) return null;
  const pairs = await examples.read(0, examples.length);
  return {
    file: { name, key, ids, mask: mask ?? null, ...unpair(pairs), records: report.records, cached: true },
    messages: report.messages,
  };
}

/** (length, firstCounted) pairs apart. */
function unpair(pairs: ArrayLike<number>): { lengths: Uint32Array; firstCounted: Uint32Array } {
  const n = pairs.length / 2;
  const lengths = new Uint32Array(n);
  const firstCounted = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    lengths[i] = pairs[2 * i];
    firstCounted[i] = pairs[2 * i + 1];
  }
  return { lengths, firstCounted };
}

/** Writes a file's examples to the cache: ids, the loss mask once some example has one, and the lengths. */
class ExampleWriter {
  private readonly ids: ArrayWriter;
  private mask: ArrayWriter | null = null;
  private readonly pairs = new GrowingArray(4);
  private tokens = 0;

  constructor(
    private readonly cache: TokenCache,
    private readonly key: string,
    width: 2 | 4,
  ) {
    this.ids = cache.create(`${key}:ids`, width);
  }

  get count(): number {
    return this.pairs.length / 2;
  }

  async add(ids: ArrayLike<number>, mask: Uint8Array | null): Promise<void> {
    await this.ids.append(ids);
    if (mask && !this.mask) {
      // The examples before this one had no mask: every token of theirs counts.
      this.mask = this.cache.create(`${this.key}:mask`, 1);
      for (let done = 0; done < this.tokens; done += 1 << 16)
        await this.mask.append(new Uint8Array(Math.min(1 << 16, this.tokens - done)).fill(1));
    }
    if (this.mask) await this.mask.append(mask ?? new Uint8Array(ids.length).fill(1));
    const first = mask ? mask.indexOf(1) : 0;
    this.pairs.push([ids.length, first < 0 ? ids.length : first]);
    this.tokens += ids.length;
  }

  async abort(): Promise<void> {
    await Promise.all([this.ids.abort(), this.mask?.abort()]);
  }

  /** Seals the entries, the report last (its presence says the rest is whole). */
  async finish(name: string, records: number, messages: FileMessage[]): Promise<PreparedFile> {
    const ids = await this.ids.finish();
    const mask = this.mask ? await this.mask.finish() : null;
    const pairs = this.pairs.finish();
    await writeArray(this.cache, `${this.key}:examples`, 4, pairs);
    const report: FileReport = { records, messages, hasMask: mask !== null };
    await writeArray(this.cache, `${this.key}:report`, 1, new TextEncoder().encode(JSON.stringify(report)));
    return { name, key: this.key, ids, mask, ...unpair(pairs), records, cached: false };
  }
}

/** A file's examples from the cache, or made now (and cached); its messages go to `messages` either way. */
async function prepareFile(
  source: TextSource,
  maker: ExampleMaker,
  cache: TokenCache,
  report: (phase: LoadProgress['phase'], bytesDone: number) => void,
  messages: FileMessage[],
): Promise<PreparedFile> {
  report('hashing', 0);
  const key = await sftKey(source, maker);
  const hit = await openPrepared(key, source.name, cache);
  if (hit) {
    messages.push(...hit.messages);
    report('cached', source.size);
    return hit.file;
  }

  const fileMessages: FileMessage[] = [];
  const writer = new ExampleWriter(cache, key, tokenWidth(maker.tokenizer.vocabSize));
  const onBytes = (n: number) => report('tokenizing', n);
  const onMessage = (m: FileMessage) => fileMessages.push(m);
  let records = 0;
  try {
    if (isRecordFormat(fileFormatOf(source.name))) {
      const skipped = new RecordProblems();
      const noted = new RecordProblems();
      try {
        for await (const record of readRecords(source, {
          problems: skipped,
          onBytes,
          onMessage,
          onColumns: (columns) => usableColumns(source.name, columns, maker.config),
        })) {
          records++;
          const notes: ExampleNotes = {};
          let example;
          try {
            example = makeExample(record.fields, maker, notes);
          } catch (e) {
            if (!(e instanceof RecordError)) throw e;
            skipped.add(e.kind, record.at, e.detail);
            continue;
          }
          if (notes.prefixMismatch)
            noted.add(
              'the prompt did not tokenize as the start of the whole; the loss starts after its length',
              record.at,
            );
          if (notes.noAssistant) noted.add('a conversation without an assistant turn, trained on whole', record.at);
          await writer.add(example.ids, example.mask);
        }
      } catch (e) {
        // A file that breaks mid-way keeps the examples read before the break.
        if (!(e instanceof DataFileError) || writer.count === 0) throw e;
        fileMessages.push({
          file: source.name,
          level: 'error',
          message: `${e.detail}; the ${writer.count} example(s) before it were kept`,
        });
      }
      fileMessages.push(...skipped.messages(source.name, 'skipped'), ...noted.messages(source.name, 'note on'));
    } else {
      records = 1;
      await writer.add(await documentExample(source, maker, onBytes, onMessage), null);
    }
  } catch (e) {
    await writer.abort();
    throw e;
  }
  messages.push(...fileMessages);
  return writer.finish(source.name, records, fileMessages);
}

async function writeArray(
  cache: TokenCache,
  key: string,
  width: 1 | 4,
  values: ArrayLike<number>,
): Promise<ArrayReader> {
  const w = cache.create(key, width);
  await w.append(values);
  return w.finish();
}

/** The columns a record file needs, or a DataFileError naming what it lacks. */
function usableColumns(file: string, columns: string[], config: SftConfig): string[] {
  const has = (c: string) => columns.includes(c);
  if (has('prompt') && has('completion')) return ['prompt', 'completion'];
  if (has('messages')) return ['messages'];
  if (has('conversations')) return ['conversations'];
  if (has(config.dataset_text_field)) return [config.dataset_text_field];
  throw new DataFileError(
    file,
    `has no column '${config.dataset_text_field}' (nor prompt and completion, or messages); its columns: ${columns.join(', ') || 'none'}`,
  );
}

/** A document file as one text record: its tokens streamed, then the end-of-text, as TRL appends it. */
async function documentExample(
  source: TextSource,
  maker: ExampleMaker,
  onBytes: (n: number) => void,
  onMessage: (m: FileMessage) => void,
): Promise<ArrayLike<number>> {
  if (maker.config.assistant_only_loss)
    throw new DataFileError(
      source.name,
      'is a document, not a conversation; assistant_only_loss applies only to conversations',
    );
  const ids = new GrowingArray(tokenWidth(maker.tokenizer.vocabSize));
  let tail = '';
  async function* watched(): AsyncGenerator<string> {
    for await (const chunk of documentTextChunks(source, { onBytes, onMessage })) {
      tail = (tail + chunk).slice(-maker.eos.length);
      yield chunk;
    }
  }
  await tokenizeChunks(watched(), maker.tokenizer, (piece) => ids.push(piece));
  if (tail !== maker.eos) ids.push(maker.tokenizer.encode(maker.eos));
  return ids.finish();
}

interface PlannedRows {
  plan: RowPlan;
  /** the files' cache keys, in order */
  keys: string[];
  rows: number;
  ids: JoinedArray;
  mask: JoinedArray | null;
  /** where each example starts in ids (and mask) */
  exampleStart: Float64Array;
}

/** Rows of these files' examples, with each file's counts appended to `stats`. */
function rowsOf(files: PreparedFile[], config: PackingOptions, stats: SftFileStats[]): PlannedRows {
  const count = files.reduce((n, f) => n + f.lengths.length, 0);
  const lengths = new Uint32Array(count);
  const firstCounted = new Uint32Array(count);
  const exampleStart = new Float64Array(count + 1);
  let e = 0;
  for (const f of files) {
    lengths.set(f.lengths, e);
    firstCounted.set(f.firstCounted, e);
    for (let i = 0; i < f.lengths.length; i++, e++) exampleStart[e + 1] = exampleStart[e] + f.lengths[i];
  }
  const { plan, effects } = planRows(lengths, firstCounted, config);
  e = 0;
  for (const f of files) {
    const s: SftFileStats = {
      name: f.name,
      records: f.records,
      examples: f.lengths.length,
      tokens: 0,
      truncated: 0,
      truncatedTokens: 0,
      dropped: 0,
      cached: f.cached,
    };
    for (let i = 0; i < f.lengths.length; i++, e++) {
      s.tokens += lengths[e];
      s.truncated += effects.truncated[e];
      s.truncatedTokens += effects.droppedTokens[e];
      s.dropped += effects.dropped[e];
    }
    stats.push(s);
  }
  const anyMask = files.some((f) => f.mask);
  const maskParts: JoinedPart[] = files.map((f) => (f.mask ? { reader: f.mask } : { value: 1, length: f.ids.length }));
  return {
    plan,
    keys: files.map((f) => f.key),
    rows: plan.rowStart.length - 1,
    ids: new JoinedArray(files.map((f) => ({ reader: f.ids }))),
    mask: anyMask ? new JoinedArray(maskParts) : null,
    exampleStart,
  };
}

/**
 * Rows [first, first + count) of a plan as blocks of at most blockSize tokens, with their manifest when `keep`
 * (the cache they are read from outlives the load).
 */
function sftBlocks(r: PlannedRows, manifest: SftBlocksManifest, keep: boolean): StoredBlocks {
  const { plan } = r;
  const { first, count, blockSize, padTokenId, vocabSize } = manifest;
  const makeIds = (n: number): TokenArray => tokenArrayFor(vocabSize, n);
  const blocks = storedBlocks(blockSize, count, padTokenId, async (i) => {
    const row = first + i;
    const p0 = plan.rowStart[row];
    const p1 = plan.rowStart[row + 1];
    let total = 0;
    for (let p = p0; p < p1; p++) total += plan.length[p];
    const ids = makeIds(total);
    const lossMask = r.mask ? new Uint8Array(total) : null;
    const starts: number[] = [];
    for (let p = p0, at = 0; p < p1; p++) {
      const from = r.exampleStart[plan.example[p]] + plan.offset[p];
      await r.ids.readInto(from, from + plan.length[p], ids, at);
      if (lossMask) await r.mask!.readInto(from, from + plan.length[p], lossMask, at);
      starts.push(at);
      at += plan.length[p];
    }
    return { ids, lossMask, sequenceStarts: plan.piecesAreSequences ? starts : null };
  });
  return keep ? { ...blocks, manifest } : blocks;
}

/** The rows a manifest describes, read from the cache; null when the cache no longer holds all of them. */
export async function openSftBlocks(manifest: SftBlocksManifest, cache: TokenCache): Promise<StoredBlocks | null> {
  const files: PreparedFile[] = [];
  for (const key of manifest.files) {
    const opened = await openPrepared(key, key, cache);
    if (!opened) return null;
    files.push(opened.file);
  }
  const rows = rowsOf(files, manifest.packing, []);
  if (manifest.first + manifest.count > rows.rows) return null;
  return sftBlocks(rows, manifest, true);
}
