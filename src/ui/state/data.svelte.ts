// The files the user gave us, each read and tokenized as soon as it arrives (one at a time, in order), so
// the list shows token counts and refusals before training starts. Tokens go to the data module's cache,
// where loading the dataset for training finds them again; the page keeps only the counts.
import { cacheKey, DataFileError, sourceFromBlob, tokenizeSource, type TokenCache } from '../../core/data/index.ts';
import type { Tokenizer } from '../../core/tokenizer/types.ts';

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
  removed = false;

  constructor(file: File) {
    this.file = file;
    this.name = file.name;
    this.bytes = file.size;
  }
}

export class DataFiles {
  // The array is replaced, never edited; each DataFile's own fields are reactive.
  files = $state.raw<DataFile[]>([]);
  totalBytes = $derived(this.files.reduce((n, f) => n + f.bytes, 0));
  totalTokens = $derived(this.files.reduce((n, f) => n + (f.tokens ?? 0), 0));
  usable = $derived(this.files.filter((f) => f.status === 'ready'));
  busy = $derived(this.files.some((f) => f.status === 'waiting' || f.status === 'reading'));

  readonly #tokenizer: () => Promise<Tokenizer>;
  readonly #cache: TokenCache;
  #queue: Promise<void> = Promise.resolve();

  constructor(tokenizer: () => Promise<Tokenizer>, cache: TokenCache) {
    this.#tokenizer = tokenizer;
    this.#cache = cache;
  }

  /** Adds files, skipping any already in the list (same name, size and modification time). */
  add(files: Iterable<File>): void {
    const known = new Set(this.files.map((f) => key(f.file)));
    const added: DataFile[] = [];
    for (const file of files) {
      if (known.has(key(file))) continue;
      known.add(key(file));
      added.push(new DataFile(file));
    }
    if (!added.length) return;
    this.files = [...this.files, ...added];
    for (const f of added) this.#queue = this.#queue.then(() => this.#count(f));
  }

  remove(id: number): void {
    for (const f of this.files) if (f.id === id) f.removed = true;
    this.files = this.files.filter((f) => f.id !== id);
  }

  async #count(f: DataFile): Promise<void> {
    if (f.removed) return;
    f.status = 'reading';
    try {
      const tokenizer = await this.#tokenizer();
      const source = sourceFromBlob(f.file);
      const cacheId = await cacheKey(source, tokenizer);
      let count = (await this.#cache.get(cacheId))?.length;
      f.cached = count !== undefined;
      if (count === undefined) {
        const tokens = await tokenizeSource(source, tokenizer, {
          onBytes: (n) => (f.bytesDone = n),
          onMessage: (m) => (f.warnings = [...f.warnings, m.message]),
        });
        count = tokens.length;
        // A full cache only costs a second tokenization at training time.
        if (count > 0) await this.#cache.set(cacheId, tokens).catch(() => undefined);
      }
      f.bytesDone = f.bytes;
      f.tokens = count;
      f.status = 'ready';
    } catch (e) {
      f.status = 'refused';
      f.refusal =
        e instanceof DataFileError
          ? e.message.replace(`${e.file}: `, '')
          : `could not be read (${e instanceof Error ? e.message : String(e)})`;
    }
  }
}

const key = (f: File): string => `${f.name}\u0000${f.size}\u0000${f.lastModified}`;
