// Checkpoints in the browser's IndexedDB (through idb-keyval). A checkpoint's files are written in
// chunks under a fresh id; only then is it added to the manifest, in one transaction, so the list
// never shows a checkpoint that is not whole. Old checkpoints are rotated out only after the new
// one is listed. Anything a failed or interrupted save left behind is swept up later.
import { createStore, delMany, get, getMany, keys, set, update, type UseStore } from 'idb-keyval';
import { parameterCount, type ModelConfig } from '../model/families/index.ts';
import { checkpointFilesFromZip, safeFolderName } from './archive.ts';
import { CheckpointError } from './errors.ts';
import {
  checkpointFromFiles,
  checkpointToFiles,
  totalBytes,
  type CheckpointFiles,
  type HearthCheckpoint,
  type ToFilesOptions,
} from './hf_folder.ts';
import { checkpointsToDelete } from './rotation.ts';
import { copyBytes } from './tensors.ts';
import { zipFolder, type UnzipOptions } from './zip.ts';

/** The few idb-keyval operations the store needs; tests wrap it to fail a write halfway. */
export interface KeyValueBackend {
  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: string[]): Promise<(T | undefined)[]>;
  set(key: string, value: unknown): Promise<void>;
  delMany(keys: string[]): Promise<void>;
  keys(): Promise<string[]>;
  /** Read-modify-write in one transaction. */
  update<T>(key: string, updater: (old: T | undefined) => T): Promise<void>;
}

export function idbBackend(dbName = 'hearth-checkpoints', storeName = 'files'): KeyValueBackend {
  const store: UseStore = createStore(dbName, storeName);
  return {
    get: (k) => get(k, store),
    getMany: (k) => getMany(k, store),
    set: (k, v) => set(k, v, store),
    delMany: (k) => delMany(k, store),
    keys: async () => (await keys(store)).map(String),
    update: (k, fn) => update(k, fn, store),
  };
}

/** navigator.storage, or a stand-in. */
export interface StorageLike {
  estimate(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

export interface CheckpointSummary {
  id: string;
  name: string;
  /** Checkpoints of one training run share this; rotation stays within a run. */
  run: string | null;
  createdAt: number;
  step: number | null;
  evalLoss: number | null;
  bytes: number;
  resumable: boolean;
  model: Pick<ModelConfig, 'n_layer' | 'n_head' | 'n_embd' | 'vocab_size' | 'n_positions'> & { parameters: number };
  files: { name: string; bytes: number; chunks: number }[];
}

export interface SaveOptions extends ToFilesOptions {
  name: string;
  run?: string | null;
  evalLoss?: number | null;
  /** Keep only this many checkpoints of the run (HF's save_total_limit); unset keeps all. Needs `run`. */
  saveTotalLimit?: number | null;
  /** Also keep the run's best checkpoint by eval loss (HF's load_best_model_at_end). */
  keepBest?: boolean;
}

const MANIFEST = 'manifest';
const PENDING = 'pending:';
const PART = 'part:';
const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;
/** A save still unlisted after this long was interrupted (tab closed); its parts are swept. */
const STALE_PENDING_MS = 60 * 60 * 1000;
/** Room left for the manifest and IndexedDB's own overhead. */
const QUOTA_MARGIN_BYTES = 4 * 1024 * 1024;

export interface StoreOptions {
  /** Defaults to navigator.storage where there is one; null skips the quota check. */
  storage?: StorageLike | null;
  chunkBytes?: number;
  now?: () => number;
}

export class CheckpointStore {
  private readonly storage: StorageLike | null;
  private readonly chunkBytes: number;
  private readonly now: () => number;

  constructor(
    private readonly backend: KeyValueBackend = idbBackend(),
    options: StoreOptions = {},
  ) {
    this.storage = options.storage !== undefined ? options.storage : (globalThis.navigator?.storage ?? null);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.now = options.now ?? Date.now;
  }

  /** Newest first. */
  async list(): Promise<CheckpointSummary[]> {
    const manifest = (await this.backend.get<CheckpointSummary[]>(MANIFEST)) ?? [];
    return [...manifest].sort((a, b) => b.createdAt - a.createdAt);
  }

  async summary(id: string): Promise<CheckpointSummary> {
    const entry = (await this.list()).find((c) => c.id === id);
    if (!entry) throw new CheckpointError('not-found', `no checkpoint with id ${id}`);
    return entry;
  }

  /** Asks the browser not to evict our data under storage pressure; true when granted. */
  async requestPersistence(): Promise<boolean> {
    if (!this.storage?.persist) return false;
    if (await this.storage.persisted?.()) return true;
    return this.storage.persist();
  }

  async save(ckpt: HearthCheckpoint, options: SaveOptions): Promise<CheckpointSummary> {
    return this.saveFiles(checkpointToFiles(ckpt, options), ckpt, options);
  }

  /** Reads, checks and stores a checkpoint zip; a bad archive is refused before anything is written. */
  async importZip(
    bytes: Uint8Array,
    options: SaveOptions & Pick<UnzipOptions, 'maxTotalBytes'>,
  ): Promise<CheckpointSummary> {
    return this.importFiles(checkpointFilesFromZip(bytes, options), options);
  }

  /** Checks files from anywhere (a drop, the Hub) and stores them in Hearth's canonical form. */
  async importFiles(files: CheckpointFiles, options: SaveOptions): Promise<CheckpointSummary> {
    const ckpt = checkpointFromFiles(files);
    return this.save(ckpt, options);
  }

  async loadFiles(id: string): Promise<CheckpointFiles> {
    const entry = await this.summary(id);
    const files: CheckpointFiles = new Map();
    for (const f of entry.files) {
      const chunkKeys = Array.from({ length: f.chunks }, (_, i) => partKey(id, f.name, i));
      const chunks = await this.backend.getMany<Uint8Array>(chunkKeys);
      const bytes = new Uint8Array(f.bytes);
      let at = 0;
      for (const c of chunks) {
        if (!c || at + c.byteLength > f.bytes)
          throw new CheckpointError(
            'storage',
            `checkpoint "${entry.name}" is damaged: ${f.name} is incomplete in storage`,
          );
        bytes.set(c, at);
        at += c.byteLength;
      }
      if (at !== f.bytes)
        throw new CheckpointError(
          'storage',
          `checkpoint "${entry.name}" is damaged: ${f.name} is incomplete in storage`,
        );
      files.set(f.name, bytes);
    }
    return files;
  }

  async load(id: string): Promise<HearthCheckpoint> {
    return checkpointFromFiles(await this.loadFiles(id));
  }

  async rename(id: string, name: string): Promise<void> {
    let found = false;
    await this.backend.update<CheckpointSummary[]>(MANIFEST, (list = []) =>
      list.map((c) => (c.id === id ? ((found = true), { ...c, name }) : c)),
    );
    if (!found) throw new CheckpointError('not-found', `no checkpoint with id ${id}`);
  }

  async delete(id: string): Promise<void> {
    await this.deleteMany([id]);
  }

  /** The zip to download, as chunks for a Blob. */
  async exportZip(id: string): Promise<{ fileName: string; chunks: Uint8Array[] }> {
    const entry = await this.summary(id);
    const folder = safeFolderName(entry.name);
    return { fileName: `${folder}.zip`, chunks: zipFolder(await this.loadFiles(id), folder) };
  }

  /** Deletes parts that no listed checkpoint owns: left by an interrupted save or delete. */
  async sweep(): Promise<number> {
    // Keys before the manifest: a save that completes in between is then either still marked
    // pending in `all` or already listed, never mistaken for an orphan.
    const all = await this.backend.keys();
    const listed = new Set((await this.list()).map((c) => c.id));
    const inProgress = new Set<string>();
    const stalePending: string[] = [];
    for (const k of all) {
      if (!k.startsWith(PENDING)) continue;
      const id = k.slice(PENDING.length);
      const started = await this.backend.get<number>(k);
      if (typeof started === 'number' && this.now() - started < STALE_PENDING_MS) inProgress.add(id);
      else stalePending.push(k);
    }
    const orphans = all.filter((k) => {
      if (!k.startsWith(PART)) return false;
      const id = k.slice(PART.length).split(':', 1)[0];
      return !listed.has(id) && !inProgress.has(id);
    });
    await this.backend.delMany([...orphans, ...stalePending]);
    return orphans.length;
  }

  private async saveFiles(
    files: CheckpointFiles,
    ckpt: HearthCheckpoint,
    options: SaveOptions,
  ): Promise<CheckpointSummary> {
    if (options.saveTotalLimit && !options.run) {
      throw new Error(
        'saveTotalLimit needs a run name, so that rotation never deletes checkpoints of other runs or imports',
      );
    }
    await this.sweep().catch(() => undefined); // best effort: space from an old crash helps this save
    const bytes = totalBytes(files);
    await this.checkQuota(bytes);

    const id = newId();
    const entry: CheckpointSummary = {
      id,
      name: options.name,
      run: options.run ?? null,
      createdAt: this.now(),
      step: ckpt.training?.step ?? null,
      evalLoss: options.evalLoss ?? ckpt.training?.evalLoss ?? null,
      bytes,
      resumable: ckpt.training !== undefined,
      model: {
        n_layer: ckpt.config.n_layer,
        n_head: ckpt.config.n_head,
        n_embd: ckpt.config.n_embd,
        vocab_size: ckpt.config.vocab_size,
        n_positions: ckpt.config.n_positions,
        parameters: parameterCount(ckpt.config),
      },
      files: [],
    };
    const written: string[] = [];
    try {
      await this.backend.set(PENDING + id, this.now());
      for (const [name, data] of files) {
        let chunks = 0;
        for (let at = 0; at < data.byteLength || chunks === 0; at += this.chunkBytes, chunks++) {
          const key = partKey(id, name, chunks);
          written.push(key);
          // A copy: IndexedDB clones a view's whole underlying buffer, not just the view.
          await this.backend.set(key, copyBytes(data.subarray(at, at + this.chunkBytes)));
        }
        entry.files.push({ name, bytes: data.byteLength, chunks });
      }
      await this.backend.update<CheckpointSummary[]>(MANIFEST, (list = []) => [...list, entry]);
    } catch (err) {
      await this.backend.delMany([...written, PENDING + id]).catch(() => undefined);
      const quota = (err as Error)?.name === 'QuotaExceededError';
      throw new CheckpointError(
        quota ? 'quota' : 'storage',
        `saving "${options.name}" failed${quota ? ': storage is full' : ''} (${(err as Error)?.message ?? err}); the earlier checkpoints are untouched`,
        { cause: err },
      );
    }
    await this.backend.delMany([PENDING + id]).catch(() => undefined);

    if (options.saveTotalLimit) {
      const sameRun = (await this.list()).filter((c) => c.run === entry.run);
      await this.deleteMany(checkpointsToDelete(sameRun, options.saveTotalLimit, options.keepBest ?? false));
    }
    return entry;
  }

  private async checkQuota(bytes: number): Promise<void> {
    if (!this.storage) return;
    const { usage, quota } = await this.storage.estimate();
    if (quota === undefined || usage === undefined) return;
    const free = Math.max(0, quota - usage);
    if (bytes + QUOTA_MARGIN_BYTES > free) {
      throw new CheckpointError(
        'quota',
        `not enough browser storage: this checkpoint needs ${mib(bytes)} and ${mib(free)} is free. ` +
          `Nothing was written; delete or export older checkpoints (old ones are removed only after a new one is saved).`,
      );
    }
  }

  private async deleteMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const doomed = new Set(ids);
    const removed: CheckpointSummary[] = [];
    // Unlist first: a checkpoint whose parts are half gone must never be listed.
    await this.backend.update<CheckpointSummary[]>(MANIFEST, (list = []) =>
      list.filter((c) => (doomed.has(c.id) ? (removed.push(c), false) : true)),
    );
    if (ids.length === 1 && removed.length === 0)
      throw new CheckpointError('not-found', `no checkpoint with id ${ids[0]}`);
    const partKeys = removed.flatMap((c) =>
      c.files.flatMap((f) => Array.from({ length: f.chunks }, (_, i) => partKey(c.id, f.name, i))),
    );
    await this.backend.delMany(partKeys);
  }
}

function partKey(id: string, file: string, chunk: number): string {
  return `${PART}${id}:${file}:${chunk}`;
}

function newId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function mib(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
