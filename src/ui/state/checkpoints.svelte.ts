// Saved checkpoints, as the checkpoint store (IndexedDB) lists them, and how much of the browser's storage
// this page uses. Every change goes through the store, then the list is read back from it.
import { checkpointFilesFromDrop, safeFolderName } from '../../core/checkpoint/archive.ts';
import type { GgufDtype } from '../../core/checkpoint/gguf_dtypes.ts';
import type { WeightsDtype } from '../../core/checkpoint/safetensors.ts';
import { CheckpointStore, type CheckpointSummary } from '../../core/checkpoint/store.ts';
import { withPytorchFiles } from '../../core/train/pytorch_script.ts';

export type { CheckpointSummary };

/** What the user asked of a push to the Hub. */
export interface PushRequest {
  repo: string;
  token: string;
  private: boolean;
  weightsDtype: WeightsDtype;
  baseModel?: string;
  dataSummary?: string;
}

/** The phases of @huggingface/hub's commit, in words. */
const PUSH_PHASES: Record<string, string> = {
  creating: 'creating the repo',
  preuploading: 'checking which files go by LFS',
  uploadingLargeFiles: 'uploading the weights',
  hashing: 'hashing the weights',
  uploading: 'uploading',
  committing: 'committing',
};

export class CheckpointList {
  entries = $state.raw<CheckpointSummary[]>([]);
  /** bytes this site uses and may use, as the browser estimates them; null where it will not say */
  storage = $state<{ usage: number; quota: number } | null>(null);
  /** what the store is doing now, in words ("Importing gpt2.zip…") */
  busy = $state<string | null>(null);
  /** the last failure, in words */
  error = $state<string | null>(null);
  /** the last push that completed: where to see it */
  pushed = $state<{ repoUrl: string; commitUrl: string; files: number } | null>(null);
  /** what the last action did that is worth saying ("already imported as …"), in words */
  notice = $state<string | null>(null);
  /** the panel the import in progress (or the last one) was started from, so that it alone reports on it */
  importedFrom = $state<'model' | 'checkpoints' | null>(null);

  readonly #store: CheckpointStore;

  constructor(store: CheckpointStore) {
    this.#store = store;
  }

  /** Reads the list back from the store (leaving any message about the last action in place). */
  async refresh(): Promise<void> {
    try {
      this.entries = await this.#store.list();
    } catch (e) {
      this.error = `the checkpoint list could not be read: ${e instanceof Error ? e.message : String(e)}`;
    }
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    this.storage = estimate?.quota ? { usage: estimate.usage ?? 0, quota: estimate.quota } : null;
  }

  /**
   * A checkpoint zip, or the files of a Hugging Face folder, chosen or dropped together; files imported before are
   * not stored again. Returns the id of the checkpoint they hold (new or already there); null when they were refused.
   */
  async importFiles(files: File[], from: 'model' | 'checkpoints' = 'checkpoints'): Promise<string | null> {
    const name = importName(files);
    const shown = files.length === 1 ? files[0].name : name;
    let id: string | null = null;
    await this.#run(
      `Importing ${name}…`,
      async () => {
        const { entry, duplicate } = await this.#store.importOnce(await checkpointFilesFromDrop(files), { name });
        id = entry.id;
        if (duplicate) this.notice = `${shown} was imported before, as “${entry.name}”: it is not stored twice.`;
      },
      `${shown} was not imported`,
      from,
    );
    await this.refresh();
    return id;
  }

  async rename(id: string, name: string): Promise<void> {
    await this.#run(null, () => this.#store.rename(id, name));
    await this.refresh();
  }

  async remove(id: string): Promise<void> {
    await this.#run(null, () => this.#store.delete(id));
    await this.refresh();
  }

  /**
   * Hands the browser a zip of the checkpoint to save, as a download: the Hugging Face folder, its weights in `dtype`,
   * with train.py.
   */
  async exportZip(id: string, dtype: WeightsDtype = 'F32'): Promise<void> {
    await this.#run('Preparing the zip…', async () => {
      const { fileName, chunks } = await this.#store.exportZip(id, withPytorchFiles, { weightsDtype: dtype });
      download(new Blob(chunks as BlobPart[], { type: 'application/zip' }), fileName);
    });
  }

  /**
   * Hands the browser a LoRA adapter merged into its base (PEFT's merge_and_unload) as a zip of the full model in its
   * family's Hugging Face layout, its weights in `dtype`.
   */
  async exportMerged(id: string, dtype: WeightsDtype = 'F32'): Promise<void> {
    await this.#run('Merging the adapter into its base…', async () => {
      const { adapter, name } = await this.#store.summary(id);
      if (!adapter) throw new Error(`${name} is not a LoRA adapter`);
      const b = adapter.base;
      let base;
      if (b.kind === 'checkpoint') {
        if (!this.entries.some((c) => c.id === b.id))
          throw new Error(`its base checkpoint "${b.name}" is no longer stored: the adapter cannot be merged`);
        base = await this.#store.load(b.id);
      } else {
        // Loaded on first use: the Hub reader, from the browser's cache of the base's download.
        const { browserHubCache, loadFromHub } = await import('../../core/checkpoint/hub.ts');
        base = await loadFromHub(b.repo, { baseUrl: b.endpoint, cache: await browserHubCache() });
      }
      const { fileName, chunks } = await this.#store.exportMergedZip(id, base, { weightsDtype: dtype });
      download(new Blob(chunks as BlobPart[], { type: 'application/zip' }), fileName);
    });
  }

  /** Hands the browser the checkpoint as one GGUF file (llama.cpp, Ollama, wllama), as a download. */
  async exportGguf(id: string, dtype: GgufDtype): Promise<void> {
    await this.#run(`Writing the ${dtype} GGUF file…`, async () => {
      // Loaded on first use: the writer brings the tokenizers, which the page need not load before.
      const [{ checkpointToGguf }, { ggufBlob }] = await Promise.all([
        import('../../core/checkpoint/gguf_export.ts'),
        import('../../core/checkpoint/gguf.ts'),
      ]);
      const { name } = await this.#store.summary(id);
      const file = checkpointToGguf(await this.#store.load(id), { dtype, name });
      download(ggufBlob(file), `${safeFolderName(name)}-${dtype.toLowerCase()}.gguf`);
    });
  }

  /**
   * Pushes the checkpoint to the Hub (or the mirror the page was set to) in one commit, with a model card and its
   * loss curve. The token goes to the Hub and nowhere else; the page keeps it only where the caller says.
   */
  async push(id: string, request: PushRequest, endpoint: string): Promise<boolean> {
    this.pushed = null;
    let ok = false;
    await this.#run(
      'Pushing to the Hub…',
      async () => {
        // Loaded on first use: the Hub client is not part of the page until someone pushes.
        const [{ pushFiles, pushToHub }, { checkpointToFiles }] = await Promise.all([
          import('../../core/hub/push.ts'),
          import('../../core/checkpoint/hf_folder.ts'),
        ]);
        const ckpt = await this.#store.load(id);
        const files = pushFiles(ckpt, checkpointToFiles({ ...ckpt, training: undefined }, request), request);
        const result = await pushToHub(files, {
          ...request,
          hubUrl: endpoint,
          onProgress: (p) => {
            this.busy = `Pushing to ${request.repo}: ${PUSH_PHASES[p.phase] ?? p.phase}${p.file ? ` ${p.file}` : ''}…`;
          },
        });
        this.pushed = { repoUrl: result.repoUrl, commitUrl: result.commitUrl, files: result.files.length };
        ok = true;
      },
      `${request.repo} was not pushed`,
    );
    return ok;
  }

  async #run(
    busy: string | null,
    work: () => Promise<void>,
    failure?: string,
    from: CheckpointList['importedFrom'] = null,
  ): Promise<void> {
    this.busy = busy;
    this.error = null;
    this.notice = null;
    this.importedFrom = from;
    try {
      await work();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.error = failure ? `${failure}: ${message}` : message;
    } finally {
      this.busy = null;
    }
  }
}

function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken its copy by the next task; the URL can go.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A zip's name without .zip, a folder's name, or the weights' file name. */
function importName(files: File[]): string {
  const first = files[0];
  if (!first) return 'imported';
  const folder = first.webkitRelativePath?.split('/')[0];
  if (folder) return folder;
  if (files.length === 1) return first.name.replace(/\.zip$/i, '');
  return 'imported';
}
