// Checkpoints in the browser's IndexedDB (through idb-keyval). A checkpoint's files are written in
// chunks under a fresh id, beside a mark that says the save is in progress; only then is it added to
// the manifest, in the transaction that removes the mark, so the list never shows a checkpoint that is
// not whole. Old checkpoints are unlisted before their parts are deleted, and only after the new one
// is listed. What a save cut short left (a tab closed or reloaded mid-write) is swept when the store
// is next used: a save holds a Web Lock while it writes, which the browser releases with the tab, so a
// mark whose lock is free belongs to a dead save. The sweep removes a dead save's mark and parts in
// one transaction, and a save whose mark is gone is never listed, so a sweep that misjudged a save
// (a tab asleep for an hour, where there are no Web Locks) costs that save, never a listed checkpoint.
import { createStore, delMany, get, getMany, keys, promisifyRequest, set, update, type UseStore } from 'idb-keyval';
import { parameterCount, sizesOf, type ModelConfig } from '../model/families/index.ts';
import { checkpointFilesFromZip, safeFolderName } from './archive.ts';
import { checkpointContentHash } from './content_hash.ts';
import { CheckpointError } from './errors.ts';
import {
  checkpointFromFiles,
  checkpointToFiles,
  totalBytes,
  type CheckpointFiles,
  type HearthCheckpoint,
  type ToFilesOptions,
} from './hf_folder.ts';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, adapterFromFiles, mergeAdapter } from './peft_adapter.ts';
import { checkpointsToDelete } from './rotation.ts';
import { TORCH_DTYPES } from './safetensors.ts';
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
  /**
   * Runs `body` as one read-write transaction: all its writes happen or none. The body may await only `tx.get`
   * (IndexedDB commits a transaction that is left waiting on anything else).
   */
  transact<T>(body: (tx: Transaction) => Promise<T>): Promise<T>;
}

export interface Transaction {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): void;
  del(key: string): void;
  /** Deletes every key that starts with `prefix`. */
  delPrefix(prefix: string): void;
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
    transact: (body) =>
      store('readwrite', async (s) => {
        const result = await body({
          get: (k) => promisifyRequest(s.get(k)),
          set: (k, v) => void s.put(v, k),
          del: (k) => void s.delete(k),
          delPrefix: (p) => void s.delete(IDBKeyRange.bound(p, `${p}\uffff`)),
        });
        await promisifyRequest(s.transaction);
        return result;
      }),
  };
}

/** The part of the Web Locks API (navigator.locks) the store uses. */
export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
}

/** navigator.storage, or a stand-in. */
export interface StorageLike {
  estimate(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

/** The model a LoRA adapter was trained on: a stored checkpoint, or a Hub model (name: how the page shows it). */
export type AdapterBase =
  { kind: 'checkpoint'; id: string; name: string } | { kind: 'hub'; repo: string; endpoint?: string; name: string };

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
  /** SHA-256 of the files an import was read from (checkpointContentHash); absent for saves and older imports */
  contentHash?: string;
  /** the model's sizes (under GPT-2's names, whatever the family, as summaries have always been stored) */
  model: {
    /** config.json's model_type; absent in summaries stored before it was kept (those are all GPT-2) */
    model_type?: string;
    n_layer: number;
    n_head: number;
    n_embd: number;
    vocab_size: number;
    n_positions: number;
    parameters: number;
  };
  files: { name: string; bytes: number; chunks: number }[];
  /** a LoRA adapter's checkpoint (PEFT's files and its training state): its rank and its base; `model` is the base's */
  adapter?: { r: number; base: AdapterBase };
}

export interface SaveOptions extends ToFilesOptions {
  name: string;
  run?: string | null;
  evalLoss?: number | null;
  /** Keep only this many checkpoints of the run (HF's save_total_limit); unset keeps all. Needs `run`. */
  saveTotalLimit?: number | null;
  /** Also keep the run's best checkpoint by eval loss (HF's load_best_model_at_end). */
  keepBest?: boolean;
  /** recorded in the summary: what importOnce recognises a second import of the same files by */
  contentHash?: string | null;
}

const MANIFEST = 'manifest';
const PENDING = 'pending:';
const PART = 'part:';
const SAVE_LOCK = 'hearth-checkpoint-save:';
const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;
/** Without Web Locks: a save still unlisted after this long was interrupted (tab closed); its parts are swept. */
const STALE_PENDING_MS = 60 * 60 * 1000;

/** A save in progress: when it began, and the Web Lock it holds while it writes (where there are Web Locks). */
type PendingMark = number | { startedAt: number; lock: string };
/** Room left for the manifest and IndexedDB's own overhead. */
const QUOTA_MARGIN_BYTES = 4 * 1024 * 1024;

export interface StoreOptions {
  /** Defaults to navigator.storage where there is one; null skips the quota check. */
  storage?: StorageLike | null;
  chunkBytes?: number;
  now?: () => number;
  /** Defaults to navigator.locks where there is one; null judges interrupted saves by their age alone. */
  locks?: LockManagerLike | null;
}

export class CheckpointStore {
  private readonly storage: StorageLike | null;
  private readonly chunkBytes: number;
  private readonly now: () => number;
  private readonly locks: LockManagerLike | null;
  /** The sweep run when the store is first used, so that what a closed tab left is gone before anything else. */
  private firstSweep: Promise<void> | null = null;

  constructor(
    private readonly backend: KeyValueBackend = idbBackend(),
    options: StoreOptions = {},
  ) {
    this.storage = options.storage !== undefined ? options.storage : (globalThis.navigator?.storage ?? null);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.now = options.now ?? Date.now;
    this.locks =
      options.locks !== undefined
        ? options.locks
        : ((globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks ?? null);
  }

  /** Newest first. */
  async list(): Promise<CheckpointSummary[]> {
    await this.sweepOnce();
    return [...(await this.manifest())].sort((a, b) => b.createdAt - a.createdAt);
  }

  private async manifest(): Promise<CheckpointSummary[]> {
    return (await this.backend.get<CheckpointSummary[]>(MANIFEST)) ?? [];
  }

  private sweepOnce(): Promise<void> {
    // Best effort: a store that cannot sweep can still list and load.
    this.firstSweep ??= this.sweep().then(
      () => undefined,
      () => undefined,
    );
    return this.firstSweep;
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
    const facts = {
      config: ckpt.config,
      step: ckpt.training?.step ?? null,
      evalLoss: ckpt.training?.evalLoss ?? null,
      resumable: ckpt.training !== undefined,
    };
    return this.saveFiles(checkpointToFiles(ckpt, options), facts, options);
  }

  /**
   * Stores a LoRA run's checkpoint: its files (loraSnapshotToFiles: PEFT's two, the training state, the tokenizer)
   * and its base, rotated by saveTotalLimit within its run as full checkpoints are. `config` is the base's.
   */
  async saveAdapter(
    files: CheckpointFiles,
    o: { config: ModelConfig; step: number; evalLoss: number | null; r: number; base: AdapterBase },
    options: SaveOptions,
  ): Promise<CheckpointSummary> {
    const facts = { config: o.config, step: o.step, evalLoss: o.evalLoss, resumable: true };
    return this.saveFiles(files, facts, options, { r: o.r, base: o.base });
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

  /**
   * Imports files unless a checkpoint imported from the very same files (by SHA-256 of their content) is already
   * listed: then nothing is written and that checkpoint comes back with `duplicate` set.
   */
  async importOnce(
    files: CheckpointFiles,
    options: SaveOptions,
  ): Promise<{ entry: CheckpointSummary; duplicate: boolean }> {
    const contentHash = await checkpointContentHash(files);
    const same = contentHash === null ? undefined : (await this.list()).find((c) => c.contentHash === contentHash);
    if (same) return { entry: same, duplicate: true };
    return { entry: await this.importFiles(files, { ...options, contentHash }), duplicate: false };
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
    const entry = await this.summary(id);
    if (entry.adapter)
      throw new CheckpointError(
        'unsupported-model',
        `"${entry.name}" is a LoRA adapter (r=${entry.adapter.r}) of ${entry.adapter.base.name}, not a whole model: use it with its base`,
      );
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

  /**
   * The zip to download, as chunks for a Blob; `extend` may add files beside the checkpoint's (train.py). In float32
   * the stored files go as they are (with the training state to resume from); in bfloat16 or float16 the model alone,
   * re-encoded and sharded as `options` say, beside what `extend` adds from the stored files.
   */
  async exportZip(
    id: string,
    extend: (files: CheckpointFiles) => CheckpointFiles = (files) => files,
    options: ToFilesOptions = {},
  ): Promise<{ fileName: string; chunks: Uint8Array[] }> {
    const entry = await this.summary(id);
    const folder = safeFolderName(entry.name);
    const stored = await this.loadFiles(id);
    // An adapter goes as PEFT's save_pretrained writes one: adapter_config.json and adapter_model.safetensors.
    if (entry.adapter) {
      const peft: CheckpointFiles = new Map(
        [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE].map((n) => [n, stored.get(n)!]),
      );
      return { fileName: `${folder}.zip`, chunks: zipFolder(peft, folder) };
    }
    const dtype = options.weightsDtype ?? 'F32';
    if (dtype === 'F32' && options.maxShardBytes === undefined)
      return { fileName: `${folder}.zip`, chunks: zipFolder(extend(stored), folder) };
    const ckpt = checkpointFromFiles(stored);
    const files = checkpointToFiles({ ...ckpt, training: dtype === 'F32' ? ckpt.training : undefined }, options);
    for (const [name, bytes] of extend(stored)) if (!stored.has(name)) files.set(name, bytes);
    const suffix = dtype === 'F32' ? '' : `-${TORCH_DTYPES[dtype]}`;
    return { fileName: `${folder}${suffix}.zip`, chunks: zipFolder(files, folder) };
  }

  /**
   * An adapter checkpoint merged into its base (PEFT's merge_and_unload) as a zip of the full model in the family's
   * Hugging Face layout, with the base's tokenizer; `base` is the adapter's base, loaded by the caller.
   */
  async exportMergedZip(
    id: string,
    base: HearthCheckpoint,
    options: ToFilesOptions = {},
  ): Promise<{ fileName: string; chunks: Uint8Array[] }> {
    const entry = await this.summary(id);
    if (!entry.adapter) throw new CheckpointError('unsupported-model', `"${entry.name}" is not a LoRA adapter`);
    const adapter = adapterFromFiles(await this.loadFiles(id), base.config);
    const folder = `${safeFolderName(entry.name)}-merged`;
    return {
      fileName: `${folder}.zip`,
      chunks: zipFolder(checkpointToFiles(mergeAdapter(base, adapter), options), folder),
    };
  }

  /**
   * Deletes what no listed checkpoint owns: the parts of saves that died (their tab closed or reloaded: their lock is
   * free, or without Web Locks they began over an hour ago), and parts an interrupted delete left. Returns how many
   * saves and checkpoints' parts it removed.
   */
  async sweep(): Promise<number> {
    // Keys before the manifest: a save that completes in between is then either still marked
    // pending in `all` or already listed, never mistaken for an orphan.
    const all = await this.backend.keys();
    const listed = new Set((await this.manifest()).map((c) => c.id));
    const pending = new Set<string>();
    let removed = 0;
    for (const k of all) {
      if (!k.startsWith(PENDING)) continue;
      const id = k.slice(PENDING.length);
      pending.add(id);
      const mark = await this.backend.get<PendingMark>(k);
      if (mark === undefined || !(await this.saveIsDead(mark))) continue;
      // Only if the mark is still the one judged: a save that was listed meanwhile has removed it.
      const dropped = await this.backend.transact(async (tx) => {
        if (JSON.stringify(await tx.get<PendingMark>(k)) !== JSON.stringify(mark)) return false;
        tx.del(k);
        tx.delPrefix(`${PART}${id}:`);
        return true;
      });
      if (dropped) removed++;
    }
    const orphans = new Set<string>();
    for (const k of all) {
      if (!k.startsWith(PART)) continue;
      const id = k.slice(PART.length).split(':', 1)[0];
      if (!listed.has(id) && !pending.has(id)) orphans.add(id);
    }
    if (orphans.size > 0) {
      // Never marked pending when the keys were read, so never to be listed: left by an interrupted delete.
      removed += await this.backend.transact(async (tx) => {
        const stillListed = new Set(((await tx.get<CheckpointSummary[]>(MANIFEST)) ?? []).map((c) => c.id));
        let n = 0;
        for (const id of orphans) {
          if (stillListed.has(id)) continue;
          tx.delPrefix(`${PART}${id}:`);
          n++;
        }
        return n;
      });
    }
    return removed;
  }

  private async saveIsDead(mark: PendingMark): Promise<boolean> {
    if (typeof mark === 'object' && mark !== null && typeof mark.lock === 'string' && this.locks) {
      // The lock is free only when its save has ended: finished (then its mark is gone) or its tab is gone.
      return this.locks.request(mark.lock, { ifAvailable: true }, (lock) => lock !== null);
    }
    const startedAt = typeof mark === 'number' ? mark : mark?.startedAt;
    return !(typeof startedAt === 'number' && this.now() - startedAt < STALE_PENDING_MS);
  }

  private async saveFiles(
    files: CheckpointFiles,
    facts: { config: ModelConfig; step: number | null; evalLoss: number | null; resumable: boolean },
    options: SaveOptions,
    adapter?: CheckpointSummary['adapter'],
  ): Promise<CheckpointSummary> {
    if (options.saveTotalLimit && !options.run) {
      throw new Error(
        'saveTotalLimit needs a run name, so that rotation never deletes checkpoints of other runs or imports',
      );
    }
    await this.sweep().catch(() => undefined); // best effort: space a dead save left helps this one
    const bytes = totalBytes(files);
    await this.checkQuota(bytes);

    const id = newId();
    const sizes = sizesOf(facts.config);
    const entry: CheckpointSummary = {
      id,
      name: options.name,
      run: options.run ?? null,
      createdAt: this.now(),
      step: facts.step,
      evalLoss: options.evalLoss ?? facts.evalLoss,
      bytes,
      resumable: facts.resumable,
      ...(options.contentHash ? { contentHash: options.contentHash } : {}),
      model: {
        model_type: facts.config.model_type,
        n_layer: sizes.num_hidden_layers,
        n_head: sizes.num_attention_heads,
        n_embd: sizes.hidden_size,
        vocab_size: sizes.vocab_size,
        n_positions: sizes.max_position_embeddings,
        parameters: parameterCount(facts.config),
      },
      files: [],
      ...(adapter ? { adapter } : {}),
    };
    const written: string[] = [];
    const lock = `${SAVE_LOCK}${id}`;
    const write = async () => {
      const mark: PendingMark = this.locks ? { startedAt: this.now(), lock } : this.now();
      await this.backend.set(PENDING + id, mark);
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
      const listed = await this.backend.transact(async (tx) => {
        if ((await tx.get(PENDING + id)) === undefined) return false;
        tx.set(MANIFEST, [...((await tx.get<CheckpointSummary[]>(MANIFEST)) ?? []), entry]);
        tx.del(PENDING + id);
        return true;
      });
      if (!listed) throw new Error('its parts were swept as abandoned while it was writing (was the tab asleep?)');
    };
    try {
      if (this.locks) await this.locks.request(lock, {}, write);
      else await write();
    } catch (err) {
      await this.backend.delMany([...written, PENDING + id]).catch(() => undefined);
      const quota = (err as Error)?.name === 'QuotaExceededError';
      throw new CheckpointError(
        quota ? 'quota' : 'storage',
        `saving "${options.name}" failed${quota ? ': storage is full' : ''} (${(err as Error)?.message ?? err}); the earlier checkpoints are untouched`,
        { cause: err },
      );
    }

    if (options.saveTotalLimit) {
      const sameRun = (await this.manifest()).filter((c) => c.run === entry.run);
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
