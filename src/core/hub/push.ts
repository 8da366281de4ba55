// Push a model to the Hugging Face Hub: create the model repo (or update it), then one commit with the checkpoint's
// Hugging Face files, a model card and the loss curve, through @huggingface/hub's commit API (preupload, the LFS
// batch and its PUTs, then the commit). The Hub applies a commit whole or not at all, so a push cut short leaves the
// repo as it was; uploads are tried again a few times before the push is reported as failed.
import { commitIter, createRepo, HubApiError, type CommitOperation } from '@huggingface/hub';
import { CheckpointError } from '../checkpoint/errors.ts';
import type { CheckpointFiles, HearthCheckpoint } from '../checkpoint/hf_folder.ts';
import { HUB_BASE_URL, normaliseRepoId } from '../checkpoint/hub.ts';
import { OPTIMIZER_FILE, STATE_FILE } from '../checkpoint/training_state.ts';
import { lossCurvePng } from './loss_curve.ts';
import { modelCard } from './model_card.ts';

export const MODEL_CARD_FILE = 'README.md';
export const LOSS_CURVE_FILE = 'loss_curve.png';

export interface PushOptions {
  /** USER/NAME or ORG/NAME */
  repo: string;
  /** a write token (hf_…); used for this push only */
  token: string;
  /** the Hub or a Hub-like server (tests, mirrors) */
  hubUrl?: string;
  private?: boolean;
  commitMessage?: string;
  /** for the model card */
  baseModel?: string;
  dataSummary?: string;
  /** attempts for a push whose connection breaks or whose server errs (5xx) */
  attempts?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  onProgress?: (p: { phase: string; file?: string; progress?: number }) => void;
}

export interface PushResult {
  repoUrl: string;
  commitUrl: string;
  files: string[];
}

/**
 * What a push uploads: the Hugging Face files without Hearth's training state (the optimizer's moments would double
 * the upload and no Hugging Face tool reads them), a model card and the loss curve when the run has one.
 */
export function pushFiles(
  ckpt: HearthCheckpoint,
  files: CheckpointFiles,
  info: Pick<PushOptions, 'baseModel' | 'dataSummary'> = {},
): CheckpointFiles {
  const out: CheckpointFiles = new Map([...files].filter(([name]) => name !== STATE_FILE && name !== OPTIMIZER_FILE));
  const curve = ckpt.training ? lossCurvePng(ckpt.training.lossHistory) : null;
  if (curve) out.set(LOSS_CURVE_FILE, curve);
  const card = modelCard({
    ...info,
    config: ckpt.config,
    training: ckpt.training,
    lossCurve: curve ? LOSS_CURVE_FILE : undefined,
  });
  out.set(MODEL_CARD_FILE, new TextEncoder().encode(card));
  return out;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A failure worth trying again: the connection broke, or the server erred. */
function transient(e: unknown): boolean {
  if (e instanceof HubApiError) return e.statusCode >= 500 || e.statusCode === 429;
  return e instanceof TypeError; // fetch's "fetch failed", "network error"
}

function pushError(e: unknown, repo: string, host: string): Error {
  if (e instanceof CheckpointError) return e;
  if (e instanceof HubApiError) {
    if (e.statusCode === 401 || e.statusCode === 403)
      return new CheckpointError(
        'unauthorized',
        `the Hub refused the token for ${repo} (${e.statusCode}): give a token with write access to it`,
        { cause: e },
      );
    return new CheckpointError('network', `the Hub answered ${e.statusCode} while pushing ${repo}: ${e.message}`, {
      cause: e,
    });
  }
  return new CheckpointError(
    'network',
    `the push of ${repo} to ${host} broke off (${(e as Error).message}); nothing was committed, try again`,
    { cause: e },
  );
}

export async function pushToHub(files: CheckpointFiles, options: PushOptions): Promise<PushResult> {
  const repo = normaliseRepoId(options.repo);
  if (!repo.includes('/')) throw new CheckpointError('not-found', `"${repo}" needs an owner: USER/NAME or ORG/NAME`);
  if (!/^hf_\w+$/.test(options.token))
    throw new CheckpointError(
      'unauthorized',
      'a Hugging Face access token starts with hf_ (make one with write access in your Hub settings)',
    );
  const hubUrl = (options.hubUrl ?? HUB_BASE_URL).replace(/\/+$/, '');
  const host = new URL(hubUrl).host;
  const common = { accessToken: options.token, hubUrl, fetch: options.fetch };
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      options.onProgress?.({ phase: 'creating' });
      await createRepo({ ...common, repo: { type: 'model', name: repo }, private: options.private }).catch((e) => {
        if (!(e instanceof HubApiError && e.statusCode === 409)) throw e; // it exists: update it
      });
      const operations: CommitOperation[] = [...files].map(([path, bytes]) => ({
        operation: 'addOrUpdate',
        path,
        content: new Blob([bytes as Uint8Array<ArrayBuffer>]),
      }));
      const it = commitIter({
        ...common,
        repo: { type: 'model', name: repo },
        title: options.commitMessage ?? 'Upload model trained with Hearth',
        operations,
        useXet: false,
        // WebCrypto hashes every file: the library's own hasher for large files compiles WebAssembly, which the
        // page's Content-Security-Policy forbids.
        useWebWorkers: { minSize: Number.MAX_SAFE_INTEGER },
        abortSignal: options.signal,
      });
      // commitIter() is a generator of progress events whose return value is the commit.
      let step = await it.next();
      while (!step.done) {
        const ev = step.value;
        if (ev.event === 'phase') options.onProgress?.({ phase: ev.phase });
        else if (ev.event === 'fileProgress')
          options.onProgress?.({ phase: ev.state, file: ev.path, progress: ev.progress });
        step = await it.next();
      }
      const done = step.value;
      return {
        repoUrl: `${hubUrl}/${repo}`,
        commitUrl: done?.commit.url ?? `${hubUrl}/${repo}`,
        files: [...files.keys()],
      };
    } catch (e) {
      if (options.signal?.aborted)
        throw new CheckpointError('cancelled', `push of ${repo} cancelled; nothing was committed`);
      if (attempt >= attempts || !transient(e)) throw pushError(e, repo, host);
      await pause(250 * 2 ** (attempt - 1));
    }
  }
}
