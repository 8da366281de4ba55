// Pretrained models from the Hugging Face Hub: {base}/{repo}/resolve/{revision}/{file}, with
// progress, cancel, and a cache so a second load needs no network. config.json comes first so a
// model Hearth cannot run is refused before its weights are downloaded; sharded weights come as their index, then
// each shard it lists.
import { readModelConfig } from './config.ts';
import { CheckpointError } from './errors.ts';
import { concatBytes } from '../util/bytes.ts';
import { parseWeightsIndex, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './shards.ts';
import {
  checkpointFromFiles,
  CONFIG_FILE,
  GENERATION_CONFIG_FILE,
  type CheckpointFiles,
  type HearthCheckpoint,
} from './hf_folder.ts';

export const HUB_BASE_URL = 'https://huggingface.co';

export interface HubProgress {
  repo: string;
  file: string;
  /** Bytes of this file so far, and its size when the server said (null when it did not). */
  fileLoaded: number;
  fileTotal: number | null;
  /** Bytes of every file so far, cached ones included. */
  loaded: number;
  fromCache: boolean;
}

/** One file of a model repo at a revision (a branch, a tag or a commit), from one Hub endpoint. */
export interface HubFile {
  endpoint: string;
  repo: string;
  revision: string;
  file: string;
}

/** What the Hub said of a file it served: the commit the revision resolved to, and the file's ETag. */
export interface HubFileMeta {
  commit: string | null;
  etag: string | null;
}

/** A file the Hub answered "no such file" for (an optional tokenizer file, say): cached, so loads need no network. */
export const NOT_ON_HUB = 'not-on-hub';

/** Where downloaded files are kept. */
export interface HubCache {
  get(f: HubFile): Promise<Uint8Array | typeof NOT_ON_HUB | undefined>;
  put(f: HubFile, bytes: Uint8Array | typeof NOT_ON_HUB, meta: HubFileMeta): Promise<void>;
}

/** A file's address, the key of caches that store bytes by string. */
export function hubFileUrl(f: HubFile): string {
  return `${f.endpoint}/${f.repo}/resolve/${encodeURIComponent(f.revision)}/${f.file}`;
}

/**
 * A HubCache over a store of bytes by string: each file under its URL, and a file the Hub lacks as an empty entry
 * under its URL + '?absent' (not a fragment: the Cache API matches URLs without theirs).
 */
export function keyedHubCache(store: {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
}): HubCache {
  return {
    async get(f) {
      const url = hubFileUrl(f);
      return (await store.get(url)) ?? ((await store.get(`${url}?absent`)) ? NOT_ON_HUB : undefined);
    },
    put: (f, bytes) =>
      bytes === NOT_ON_HUB ? store.put(`${hubFileUrl(f)}?absent`, new Uint8Array(0)) : store.put(hubFileUrl(f), bytes),
  };
}

export interface HubOptions {
  /** Tests point this at a local server laid out like the Hub. */
  baseUrl?: string;
  revision?: string;
  signal?: AbortSignal;
  onProgress?: (p: HubProgress) => void;
  cache?: HubCache | null;
  /** For a user's private repo; sent only to baseUrl. */
  token?: string;
  fetch?: typeof fetch;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

export function normaliseRepoId(input: string): string {
  let id = input
    .trim()
    .replace(/^https?:\/\/huggingface\.co\//, '')
    .replace(/\/+$/, '');
  id = id.replace(/\/(tree|blob|resolve)\/.*$/, '');
  if (!REPO_ID.test(id) || id.includes('..')) {
    throw new CheckpointError(
      'not-found',
      `"${input}" is not a Hub model id (expected a name like gpt2 or user/model)`,
    );
  }
  return id;
}

export async function loadFromHub(repo: string, options: HubOptions = {}): Promise<HearthCheckpoint> {
  return checkpointFromFiles(await downloadFromHub(repo, options));
}

/**
 * Downloads the files of a model repo, each read from the cache when it holds it: a repo loaded once loads again
 * with no network, optional files the Hub lacks included.
 */
export async function downloadFromHub(repoInput: string, options: HubOptions = {}): Promise<CheckpointFiles> {
  const repo = normaliseRepoId(repoInput);
  const endpoint = (options.baseUrl ?? HUB_BASE_URL).replace(/\/+$/, '');
  const revision = options.revision ?? 'main';
  const cache = options.cache ?? null;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  let loaded = 0;
  /** The commit the revision resolved to, from the first response that names it (the Hub's X-Repo-Commit). */
  let commit: string | null = null;

  const files: CheckpointFiles = new Map();
  /** One file, from the cache or the network; undefined when the Hub has no such file and it is optional. */
  const fetchFile = async (file: string, required: boolean): Promise<Uint8Array | undefined> => {
    const ref: HubFile = { endpoint, repo, revision, file };
    const hit = await cache?.get(ref);
    if (hit === NOT_ON_HUB && !required) return undefined;
    if (hit instanceof Uint8Array) {
      loaded += hit.byteLength;
      options.onProgress?.({
        repo,
        file,
        fileLoaded: hit.byteLength,
        fileTotal: hit.byteLength,
        loaded,
        fromCache: true,
      });
      files.set(file, hit);
      return hit;
    }
    const url = `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
    const got = await download(doFetch, url, repo, file, required, options, (fileLoaded, fileTotal) => {
      options.onProgress?.({ repo, file, fileLoaded, fileTotal, loaded: loaded + fileLoaded, fromCache: false });
    });
    commit = got.commit ?? commit;
    if (!got.bytes) {
      await cache?.put(ref, NOT_ON_HUB, { commit, etag: null });
      return undefined;
    }
    loaded += got.bytes.byteLength;
    files.set(file, got.bytes);
    await cache?.put(ref, got.bytes, { commit, etag: got.etag });
    return got.bytes;
  };

  const config = await fetchFile(CONFIG_FILE, true);
  readModelConfig(new TextDecoder().decode(config)); // refuse a model Hearth cannot run before the big download
  if (!(await fetchFile('tokenizer.json', false))) {
    await fetchFile('vocab.json', true);
    await fetchFile('merges.txt', true);
  }
  // The tokenizer's special tokens, template switches and chat template, where the repository has them.
  for (const name of ['tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'])
    await fetchFile(name, false);
  await fetchFile(GENERATION_CONFIG_FILE, false);
  // One model.safetensors, or the index save_pretrained writes beside its shards and then each shard it lists.
  if (!(await fetchFile(WEIGHTS_FILE, false))) {
    const index = parseWeightsIndex((await fetchFile(WEIGHTS_INDEX_FILE, true))!);
    for (const shard of index.shards) await fetchFile(shard, true);
  }
  return files;
}

/** A served file's bytes (undefined: an optional file the Hub lacks), with the commit and ETag the Hub named. */
interface Downloaded {
  bytes: Uint8Array | undefined;
  commit: string | null;
  etag: string | null;
}

/** An ETag header's value without the weak mark and quotes, as huggingface_hub names blobs by it. */
function etagOf(headers: Headers): string | null {
  const raw = headers.get('x-linked-etag') ?? headers.get('etag');
  return raw ? raw.replace(/^W\//, '').replace(/^"|"$/g, '') || null : null;
}

async function download(
  doFetch: typeof fetch,
  url: string,
  repo: string,
  file: string,
  required: boolean,
  options: HubOptions,
  progress: (loaded: number, total: number | null) => void,
): Promise<Downloaded> {
  const cancelled = () => new CheckpointError('cancelled', `download of ${repo} cancelled`);
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await doFetch(url, { signal: options.signal, headers });
  } catch (err) {
    if (options.signal?.aborted) throw cancelled();
    throw new CheckpointError(
      'network',
      `could not reach ${new URL(url).host} for ${repo}/${file} (${(err as Error).message}); check the connection`,
      { cause: err },
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    const code = response.headers.get('x-error-code');
    if (response.status === 404 && code !== 'RepoNotFound' && !required)
      return { bytes: undefined, commit: response.headers.get('x-repo-commit'), etag: null };
    throw hubError(response.status, code, repo, file, options.token !== undefined);
  }

  const commit = response.headers.get('x-repo-commit');
  // A redirected response (large files, from the CDN) carries the CDN's ETag, not the Hub's: the cache names the blob.
  const etag = response.redirected ? null : etagOf(response.headers);
  const declared = Number(response.headers.get('content-length'));
  // With a Content-Encoding the length counts compressed bytes; then it only guides progress.
  const exact = Number.isSafeInteger(declared) && declared >= 0 && !response.headers.get('content-encoding');
  const total = exact ? declared : null;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    progress(bytes.byteLength, total);
    return { bytes, commit, etag };
  }
  const reader = response.body.getReader();
  // With a known length the bytes go straight into one buffer: no second copy of a 500 MB file.
  const whole = total !== null ? new Uint8Array(total) : null;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (whole) {
        if (received + value.byteLength > whole.length) throw new Error(`more bytes than the announced ${total}`);
        whole.set(value, received);
      } else chunks.push(value);
      received += value.byteLength;
      progress(received, total);
    }
  } catch (err) {
    if (options.signal?.aborted) throw cancelled();
    throw new CheckpointError(
      'network',
      `download of ${repo}/${file} broke off after ${received} bytes (${(err as Error).message})`,
      { cause: err },
    );
  }
  if (options.signal?.aborted) throw cancelled();
  if (whole) {
    if (received !== total)
      throw new CheckpointError('network', `download of ${repo}/${file} ended after ${received} of ${total} bytes`);
    return { bytes: whole, commit, etag };
  }
  return { bytes: concatBytes(chunks), commit, etag };
}

function hubError(
  status: number,
  code: string | null,
  repo: string,
  file: string,
  withToken: boolean,
): CheckpointError {
  if (code === 'GatedRepo') {
    return new CheckpointError(
      'unauthorized',
      `${repo} is a gated model: accept its terms on the Hub${withToken ? ' with the account of this token' : ' and give an access token'}`,
    );
  }
  if (code === 'RepoNotFound' || (status === 401 && !withToken)) {
    // The Hub answers 401 both for private repos and for repos that do not exist.
    return new CheckpointError(
      'not-found',
      withToken
        ? `no model "${repo}" that this token can read: check the name and the token's access`
        : `no public model "${repo}" on the Hub: check the name, or, if it is private, give an access token`,
    );
  }
  if (status === 401 || status === 403) {
    return new CheckpointError(
      'unauthorized',
      `the Hub refused access to ${repo} (${status}): the token cannot read this repo`,
    );
  }
  if (status === 404) {
    const what =
      file === WEIGHTS_INDEX_FILE
        ? `${repo} has no model.safetensors and no ${WEIGHTS_INDEX_FILE} (Hearth reads only safetensors weights, not pytorch_model.bin)`
        : `${repo} has no ${file}`;
    return new CheckpointError('not-found', what);
  }
  return new CheckpointError('network', `the Hub answered ${status} for ${repo}/${file}; try again later`);
}

/** The browser's cache: the Cache API where there is one, IndexedDB otherwise. */
export async function browserHubCache(name = 'hearth-hub'): Promise<HubCache> {
  if (globalThis.caches) {
    const cache = await caches.open(name);
    return keyedHubCache({
      async get(key) {
        const r = await cache.match(key);
        return r ? new Uint8Array(await r.arrayBuffer()) : undefined;
      },
      async put(key, bytes) {
        await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>));
      },
    });
  }
  const { createStore, get, set } = await import('idb-keyval');
  const store = createStore(name, 'files');
  return keyedHubCache({
    get: (key) => get<Uint8Array>(key, store),
    put: (key, bytes) => set(key, bytes, store),
  });
}
