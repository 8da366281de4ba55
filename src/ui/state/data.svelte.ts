// The files the user gave us, each read and tokenized by the engine worker as soon as it arrives (one at a time,
// in order), so the list shows token counts and refusals before training starts. The tokens go to the token
// cache, where loading the dataset for training finds them again; the page keeps only the counts. When the
// tokenizer changes, every file is counted again with the new one.
import { RequestError, type EngineClient } from '../../worker/client.ts';
import type { SftFileReport, SftOptions } from '../../worker/protocol.ts';
import { fileFormatOf, isRecordFormat } from '../../core/data/documents.ts';

/** What record files are prepared with: the options, and the model they are for. */
export interface SftContext {
  options: SftOptions;
  /** a new model (its tokenizer gets a chat template when it has none) */
  newModel: boolean;
  /** the model's positions, which bound max_length */
  positions: number;
}

export type FileStatus = 'waiting' | 'reading' | 'ready' | 'refused';

let nextId = 1;

export class DataFile {
  /** stable key for the list, since two files may share a name */
  readonly id = nextId++;
  readonly file: File;
  readonly name: string;
  readonly bytes: number;
  status = $state<FileStatus>('waiting');
  bytesDone = $state(0);
  tokens = $state<number | null>(null);
  /** the tokens came from the cache (this file was seen before) */
  cached = $state(false);
  /** why the file cannot be used */
  refusal = $state<string | null>(null);
  warnings = $state<string[]>([]);
  /** a record file (JSON Lines, JSON, CSV, TSV, Parquet): fine-tuning examples, prepared as a run prepares them */
  readonly records: boolean;
  /** a record file's examples: counts and first rows */
  sft = $state.raw<SftFileReport | null>(null);
  removed = false;

  constructor(file: File) {
    this.file = file;
    this.name = file.name;
    this.bytes = file.size;
    this.records = isRecordFormat(fileFormatOf(file.name));
  }

  reset(): void {
    this.status = 'waiting';
    this.bytesDone = 0;
    this.tokens = null;
    this.cached = false;
    this.refusal = null;
    this.warnings = [];
    this.sft = null;
  }
}

/** A file the list held before the page was reloaded: its name and size (a browser keeps no file across a reload). */
export interface EarlierFile {
  name: string;
  bytes: number;
}

function readEarlier(storageKey: string | null): EarlierFile[] {
  if (!storageKey) return [];
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(storageKey) ?? '[]');
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (f): f is EarlierFile => typeof f?.name === 'string' && typeof f?.bytes === 'number' && f.bytes >= 0,
    );
  } catch {
    return []; // no localStorage (a sandbox, a privacy setting), or something else under the key
  }
}

export class DataFiles {
  // The array is replaced, never edited; each DataFile's own fields are reactive.
  files = $state.raw<DataFile[]>([]);
  totalBytes = $derived(this.files.reduce((n, f) => n + f.bytes, 0));
  totalTokens = $derived(this.files.reduce((n, f) => n + (f.tokens ?? 0), 0));
  usable = $derived(this.files.filter((f) => f.status === 'ready'));
  busy = $derived(this.files.some((f) => f.status === 'waiting' || f.status === 'reading'));
  /** the key of the tokenizer the counts are made with; null while there is none yet */
  tokenizer = $state<string | null>(null);
  /** any record files: the run fine-tunes on examples (TRL's SFTTrainer) */
  hasRecords = $derived(this.files.some((f) => f.records));
  /** what record files are prepared with; null until the page says */
  #sft: SftContext | null = null;

  /** the files listed before the last reload and not given again since */
  earlier = $state.raw<EarlierFile[]>([]);

  readonly #client: EngineClient;
  /** where the list's names and sizes are kept across reloads; null: not kept */
  readonly #storageKey: string | null;
  #queue: Promise<void> = Promise.resolve();
  /** bumped when the tokenizer changes, so counts made with the old one are dropped */
  #round = 0;

  constructor(client: EngineClient, storageKey: string | null = null) {
    this.#client = client;
    this.#storageKey = storageKey;
    this.earlier = readEarlier(storageKey);
  }

  /** Forgets the files of before the reload. */
  dismissEarlier(): void {
    this.earlier = [];
    this.#remember();
  }

  #remember(): void {
    if (!this.#storageKey) return;
    const list: EarlierFile[] = [...this.earlier, ...this.files.map((f) => ({ name: f.name, bytes: f.bytes }))];
    try {
      localStorage.setItem(this.#storageKey, JSON.stringify(list));
    } catch {
      // not kept: the page says nothing after a reload, as before
    }
  }

  /** Adds files, skipping any already in the list (same name, size and modification time). */
  add(files: Iterable<File>): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
    const known = new Set(this.files.map((f) => key(f.file)));
    const added: DataFile[] = [];
    for (const file of files) {
      if (known.has(key(file))) continue;
      known.add(key(file));
      added.push(new DataFile(file));
    }
    if (!added.length) return;
    this.files = [...this.files, ...added];
    this.earlier = this.earlier.filter((e) => !added.some((f) => f.name === e.name && f.bytes === e.bytes));
    this.#remember();
    this.#enqueue(added);
  }

  remove(id: number): void {
    for (const f of this.files) if (f.id === id) f.removed = true;
    this.files = this.files.filter((f) => f.id !== id);
    this.#remember();
  }

  /** Counts every file again with this tokenizer (null: wait for one). */
  useTokenizer(tokenizer: string | null): void {
    if (tokenizer === this.tokenizer) return;
    this.tokenizer = tokenizer;
    this.#round++;
    for (const f of this.files) f.reset();
    this.#enqueue(this.files);
  }

  /** Prepares the record files again when the fine-tuning options or the model change. */
  useSft(context: SftContext): void {
    if (JSON.stringify(context) === JSON.stringify(this.#sft)) return;
    this.#sft = context;
    // Text files do not depend on these: a list of them alone stays as counted.
    if (!this.files.some((f) => f.records)) return;
    // Every file again, since a new round drops what the old one had in flight (text files come from the cache).
    this.#round++;
    for (const f of this.files) f.reset();
    this.#enqueue(this.files);
  }

  #enqueue(files: DataFile[]): void {
    const round = this.#round;
    for (const f of files) this.#queue = this.#queue.then(() => this.#count(f, round));
  }

  async #count(f: DataFile, round: number): Promise<void> {
    const tokenizer = this.tokenizer;
    if (f.removed || round !== this.#round || tokenizer === null) return;
    const sft = this.#sft;
    if (f.records && sft === null) return; // prepared once the page gives the options
    f.status = 'reading';
    const current = () => round === this.#round;
    const onEvent = (e: { kind: 'bytes'; done: number } | { kind: 'warning'; message: string }) => {
      if (!current()) return;
      if (e.kind === 'bytes') f.bytesDone = e.done;
      else f.warnings = [...f.warnings, e.message];
    };
    try {
      const report =
        f.records && sft
          ? await this.#client.call('prepareSft', { file: f.file, tokenizer, ...$state.snapshot(sft) }, { onEvent })
          : null;
      const result = report ?? (await this.#client.call('countTokens', { file: f.file, tokenizer }, { onEvent }));
      if (!current()) return;
      f.bytesDone = f.bytes;
      f.tokens = result.tokens;
      f.cached = result.cached;
      if (report) {
        f.sft = report;
        f.warnings = report.messages;
      }
      f.status = 'ready';
    } catch (e) {
      if (!current()) return;
      f.status = 'refused';
      f.refusal =
        e instanceof RequestError && (e.code === 'refused' || e.code === 'invalid-argument')
          ? e.message
          : `could not be read (${e instanceof Error ? e.message : String(e)})`;
    }
  }
}

const key = (f: File): string => `${f.name}\u0000${f.size}\u0000${f.lastModified}`;
