// Hub downloads against a local server laid out like the Hub (resolve URLs naming the commit and ETag, a redirect for
// the weights as the real CDN does, 401/404 with Hub's error codes). No test reaches the internet.
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/core/checkpoint/errors.ts';
import { checkpointToFiles, type CheckpointFiles } from '../../src/core/checkpoint/hf_folder.ts';
import {
  browserHubCache,
  downloadFromHub,
  keyedHubCache,
  loadFromHub,
  normaliseRepoId,
  type HubCache,
  type HubProgress,
} from '../../src/core/checkpoint/hub.ts';
import { hfHubCache } from '../../src/core/checkpoint/hf_hub_cache.ts';
import { loadCheckpoint } from '../../src/cli/checkpoint_source.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';
import { hfWeightFiles } from './hf_fixtures.ts';

interface Repo {
  files: CheckpointFiles;
  token?: string;
  gated?: boolean;
  /** The connection drops before the weights are complete. */
  dropsWeights?: boolean;
}

const repos = new Map<string, Repo>();
const requests: string[] = [];
let slowWeights = false;
let server: Server;
let baseUrl: string;

function hubFiles(seed: number): CheckpointFiles {
  const files = checkpointToFiles(tinyCheckpoint({ seed }));
  files.delete('generation_config.json');
  return files;
}

/** A repo whose weights save_pretrained sharded: the index and seven shards. */
function shardedHubFiles(seed: number): CheckpointFiles {
  const files = hubFiles(seed);
  files.delete('model.safetensors');
  for (const [name, bytes] of hfWeightFiles(tinyCheckpoint({ seed }).weights, 'F32', 1500)) files.set(name, bytes);
  return files;
}

const optionalFiles = [
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'generation_config.json',
];
const sha = (algorithm: string, bytes: Uint8Array | string) => createHash(algorithm).update(bytes).digest('hex');
/** The commit every revision of a test repo resolves to. */
const commitOf = (repo: string) => sha('sha1', `commit of ${repo}`);

function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url!, 'http://x');
  requests.push(url.pathname);
  const cdn = /^\/cdn\/(.+)\/([^/]+\.safetensors)$/.exec(url.pathname);
  const m = cdn ?? /^\/(.+)\/resolve\/main\/([^/]+)$/.exec(url.pathname);
  const repo = m ? repos.get(decodeURIComponent(m[1])) : undefined;
  const authorised = repo && (!repo.token || req.headers.authorization === `Bearer ${repo.token}`) && !repo.gated;
  if (!m || !repo || !authorised) {
    res.writeHead(repo?.gated ? 403 : 401, { 'x-error-code': repo?.gated ? 'GatedRepo' : 'RepoNotFound' });
    return res.end('Repository not found');
  }
  const body = repo.files.get(m[2]);
  const commit = { 'x-repo-commit': commitOf(decodeURIComponent(m[1])) };
  if (!body) {
    res.writeHead(404, { 'x-error-code': 'EntryNotFound', ...commit });
    return res.end('Entry not found');
  }
  if (!cdn && m[2].endsWith('.safetensors')) {
    // Large files live on a CDN; the Hub's redirect names the file's SHA-256, which a followed redirect hides.
    res.writeHead(302, { location: `/cdn/${m[1]}/${m[2]}`, 'x-linked-etag': `"${sha('sha256', body)}"`, ...commit });
    return res.end();
  }
  res.writeHead(200, {
    'content-length': body.length,
    'content-type': 'application/octet-stream',
    ...(cdn ? { etag: '"cdn-etag"' } : { etag: `"${sha('sha1', body)}"`, ...commit }),
  });
  if (cdn && repo.dropsWeights) {
    res.write(body.subarray(0, 1000));
    setTimeout(() => res.destroy(), 20);
    return;
  }
  if (!slowWeights || !cdn) return res.end(body);
  let at = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(body.subarray(at, at + 512));
    at += 512;
    if (at >= body.length) {
      clearInterval(timer);
      res.end();
    }
  }, 20);
}

beforeAll(async () => {
  repos.set('gpt2-tiny', { files: hubFiles(1) });
  repos.set('someone/private-model', { files: hubFiles(2), token: 'hf_secret' });
  repos.set('org/gated', { files: hubFiles(3), gated: true });
  const bpe = hubFiles(4);
  bpe.delete('tokenizer.json');
  bpe.set('vocab.json', new TextEncoder().encode('{"a": 0}'));
  bpe.set('merges.txt', new TextEncoder().encode('#version: 0.2\n'));
  repos.set('old/bpe-only', { files: bpe });
  const noWeights = hubFiles(5);
  noWeights.delete('model.safetensors');
  noWeights.set('pytorch_model.bin', new Uint8Array(10));
  repos.set('old/pickle', { files: noWeights });
  const falcon = hubFiles(6);
  falcon.set(
    'config.json',
    new TextEncoder().encode('{"model_type": "falcon", "architectures": ["FalconForCausalLM"]}'),
  );
  repos.set('tiiuae/falcon-tiny', { files: falcon });
  repos.set('flaky/connection', { files: hubFiles(7), dropsWeights: true });
  repos.set('sharded/tiny', { files: shardedHubFiles(8) });
  const hugeConfig = hubFiles(10);
  const config = JSON.parse(new TextDecoder().decode(hugeConfig.get('config.json')));
  hugeConfig.set('config.json', new TextEncoder().encode(JSON.stringify({ ...config, n_layer: 100_000_000 })));
  repos.set('tiny/claims-huge', { files: hugeConfig });
  const lostShard = shardedHubFiles(9);
  lostShard.delete('model-00003-of-00007.safetensors');
  repos.set('sharded/lost-shard', { files: lostShard });
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function memoryCache(): HubCache & { map: Map<string, Uint8Array> } {
  const map = new Map<string, Uint8Array>();
  return { map, ...keyedHubCache({ get: async (k) => map.get(k), put: async (k, v) => void map.set(k, v) }) };
}

function expectWeightsOf(ckpt: { weights: Map<string, { shape: number[]; data: Float32Array }> }, seed: number) {
  for (const [name, t] of tinyCheckpoint({ seed }).weights)
    expect(bitwiseEqual(ckpt.weights.get(name)!, t), name).toBe(true);
}

describe('Hub downloads', () => {
  it('loads a model with progress into the cache as huggingface_hub lays it out, then loads it again with no network', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-hub-'));
    try {
      const progress: HubProgress[] = [];
      requests.length = 0;
      const ckpt = await loadFromHub('gpt2-tiny', {
        baseUrl,
        cache: hfHubCache(dir),
        onProgress: (p) => progress.push(p),
      });
      expectWeightsOf(ckpt, 1);
      expect(requests).toEqual([
        '/gpt2-tiny/resolve/main/config.json',
        '/gpt2-tiny/resolve/main/tokenizer.json',
        '/gpt2-tiny/resolve/main/tokenizer_config.json', // optional: 404, skipped
        '/gpt2-tiny/resolve/main/special_tokens_map.json',
        '/gpt2-tiny/resolve/main/chat_template.jinja',
        '/gpt2-tiny/resolve/main/generation_config.json',
        '/gpt2-tiny/resolve/main/model.safetensors',
        '/cdn/gpt2-tiny/model.safetensors',
      ]);
      const weights = progress.filter((p) => p.file === 'model.safetensors');
      const size = repos.get('gpt2-tiny')!.files.get('model.safetensors')!.length;
      expect(weights.at(-1)).toMatchObject({ fileLoaded: size, fileTotal: size, fromCache: false });
      for (let i = 1; i < progress.length; i++)
        expect(progress[i].loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded);
      const total = [...repos.get('gpt2-tiny')!.files.values()].reduce((n, b) => n + b.length, 0);
      expect(progress.at(-1)!.loaded).toBe(total);

      requests.length = 0;
      const offline: HubProgress[] = [];
      const again = await loadFromHub('https://huggingface.co/gpt2-tiny', {
        baseUrl,
        cache: hfHubCache(dir),
        onProgress: (p) => offline.push(p),
        fetch: () => Promise.reject(new Error('offline')),
      });
      expectWeightsOf(again, 1);
      expect(requests).toEqual([]);
      expect(offline.every((p) => p.fromCache)).toBe(true);
      const repoDir = join(dir, 'models--gpt2-tiny');
      const commit = commitOf('gpt2-tiny');
      expect(await readFile(join(repoDir, 'refs', 'main'), 'utf8')).toBe(commit);
      const files = repos.get('gpt2-tiny')!.files;
      // Blobs named as huggingface_hub names them: the Hub's ETag, and a large file's SHA-256 (not the CDN's ETag).
      for (const [name, blob] of [
        ['config.json', sha('sha1', files.get('config.json')!)],
        ['model.safetensors', sha('sha256', files.get('model.safetensors')!)],
      ]) {
        const link = join(repoDir, 'snapshots', commit, name);
        expect((await lstat(link)).isSymbolicLink(), name).toBe(true);
        expect(await readlink(link)).toBe(`../../blobs/${blob}`);
        expect(new Uint8Array(await readFile(link))).toEqual(files.get(name));
      }
      expect(await readFile(join(repoDir, '.no_exist', commit, 'tokenizer_config.json'), 'utf8')).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("loads a model from a cache Python's huggingface_hub left, by branch or by commit, with no network", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-hub-'));
    try {
      const commit = 'a'.repeat(40);
      const repoDir = join(dir, 'models--org--from-python');
      await mkdir(join(repoDir, 'refs'), { recursive: true });
      await writeFile(join(repoDir, 'refs', 'main'), commit);
      // Copies rather than links, as huggingface_hub leaves on a file system without symbolic links.
      await mkdir(join(repoDir, 'snapshots', commit), { recursive: true });
      for (const [name, bytes] of repos.get('gpt2-tiny')!.files)
        await writeFile(join(repoDir, 'snapshots', commit, name), bytes);
      await mkdir(join(repoDir, '.no_exist', commit), { recursive: true });
      for (const name of optionalFiles.filter((n) => !repos.get('gpt2-tiny')!.files.has(n)))
        await writeFile(join(repoDir, '.no_exist', commit, name), '');
      requests.length = 0;
      const offline = { baseUrl, cache: hfHubCache(dir), fetch: () => Promise.reject(new Error('offline')) };
      expectWeightsOf(await loadFromHub('org/from-python', offline), 1);
      expectWeightsOf(await loadFromHub('org/from-python', { ...offline, revision: commit }), 1);
      expect(requests).toEqual([]);
      const error = await loadFromHub('org/from-python', { ...offline, revision: 'v2' }).catch((e) => e);
      expect(error.message).toMatch(/could not reach 127\.0\.0\.1:\d+ for org\/from-python\/config\.json \(offline\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads HF_ENDPOINT, HF_TOKEN and HF_HOME in the CLI's hf:ID, caching where Python's huggingface_hub would", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-hub-'));
    const names = ['HF_ENDPOINT', 'HF_HOME', 'HF_HUB_CACHE', 'HF_TOKEN'];
    const saved = names.map((name) => process.env[name]);
    try {
      process.env.HF_ENDPOINT = `${baseUrl}/`;
      process.env.HF_HOME = join(dir, 'hf');
      delete process.env.HF_HUB_CACHE;
      delete process.env.HF_TOKEN;
      const denied = await loadCheckpoint('hf:someone/private-model').catch((e) => e);
      expect(denied.message).toMatch(/no public model "someone\/private-model" on the Hub/);
      await mkdir(process.env.HF_HOME, { recursive: true });
      await writeFile(join(process.env.HF_HOME, 'token'), 'hf_secret\n'); // as `huggingface-cli login` leaves it
      expectWeightsOf(await loadCheckpoint('hf:someone/private-model'), 2);
      const snapshot = join(
        dir,
        'hf',
        'hub',
        'models--someone--private-model',
        'snapshots',
        commitOf('someone/private-model'),
      );
      expect((await lstat(join(snapshot, 'model.safetensors'))).isSymbolicLink()).toBe(true);
      process.env.HF_TOKEN = 'wrong';
      process.env.HF_HUB_CACHE = join(dir, 'elsewhere');
      const wrong = await loadCheckpoint('hf:someone/private-model').catch((e) => e);
      expect(wrong.message).toMatch(/no model "someone\/private-model" that this token can read/);
    } finally {
      // Put back only what the test set: process.env must stay the real environment (Dawn reads it later in this
      // process, test files sharing one).
      names.forEach((name, i) => {
        if (saved[i] === undefined) delete process.env[name];
        else process.env[name] = saved[i];
      });
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps to the cache folder whatever a file or a revision is called', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-hub-'));
    try {
      const cache = hfHubCache(dir);
      const ref = { endpoint: baseUrl, repo: 'a/b', revision: 'main', file: '../escape' };
      await expect(cache.put(ref, new Uint8Array(1), { commit: null, etag: null })).rejects.toThrow(/unusual path/);
      await expect(cache.get({ ...ref, file: 'config.json', revision: '../../x' })).rejects.toThrow(/unusual path/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('downloads sharded weights, the index and then each shard it lists, with progress; then loads them offline', async () => {
    const cache = memoryCache();
    const progress: HubProgress[] = [];
    requests.length = 0;
    const ckpt = await loadFromHub('sharded/tiny', { baseUrl, cache, onProgress: (p) => progress.push(p) });
    expectWeightsOf(ckpt, 8);
    const files = repos.get('sharded/tiny')!.files;
    const shards = [...files.keys()].filter((n) => n.startsWith('model-')).sort();
    expect(shards).toHaveLength(7);
    expect(requests.slice(-2 - 2 * shards.length)).toEqual([
      '/sharded/tiny/resolve/main/model.safetensors', // 404: sharded
      '/sharded/tiny/resolve/main/model.safetensors.index.json',
      ...shards.flatMap((s) => [`/sharded/tiny/resolve/main/${s}`, `/cdn/sharded/tiny/${s}`]),
    ]);
    for (const s of shards) {
      const size = files.get(s)!.length;
      expect(progress.filter((p) => p.file === s).at(-1), s).toMatchObject({ fileLoaded: size, fileTotal: size });
    }
    expect(progress.at(-1)!.loaded).toBe([...files.values()].reduce((n, b) => n + b.length, 0));

    requests.length = 0;
    const offline = await loadFromHub('sharded/tiny', {
      baseUrl,
      cache,
      fetch: () => Promise.reject(new Error('offline')),
    });
    expectWeightsOf(offline, 8);
    expect(requests).toEqual([]);
  });

  it('refuses a config.json whose sizes are out of bounds before downloading anything else', async () => {
    requests.length = 0;
    const error = await loadFromHub('tiny/claims-huge', { baseUrl }).catch((e) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe(
      'config.json: num_hidden_layers 100000000 is over 1024, more than any model Hearth can load',
    );
    expect(requests).toEqual(['/tiny/claims-huge/resolve/main/config.json']);
  });

  it('names a shard the index lists that the repo lacks', async () => {
    const error = await loadFromHub('sharded/lost-shard', { baseUrl }).catch((e) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('not-found');
    expect(error.message).toBe('sharded/lost-shard has no model-00003-of-00007.safetensors');
  });

  it('cancels mid-download, keeps nothing partial, and the next load fetches only what is missing', async () => {
    const cache = memoryCache();
    const controller = new AbortController();
    slowWeights = true;
    try {
      const error = await downloadFromHub('gpt2-tiny', {
        baseUrl,
        cache,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.file === 'model.safetensors' && p.fileLoaded > 0) controller.abort();
        },
      }).catch((e) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.code).toBe('cancelled');
      expect(error.message).toBe('download of gpt2-tiny cancelled');
      expect([...cache.map.keys()].map((k) => k.split('/').at(-1))).toEqual([
        'config.json',
        'tokenizer.json',
        ...optionalFiles.map((n) => (repos.get('gpt2-tiny')!.files.has(n) ? n : `${n}?absent`)),
      ]);
    } finally {
      slowWeights = false;
    }
    requests.length = 0;
    expectWeightsOf(await loadFromHub('gpt2-tiny', { baseUrl, cache }), 1);
    expect(requests).toEqual(['/gpt2-tiny/resolve/main/model.safetensors', '/cdn/gpt2-tiny/model.safetensors']);
  });

  it('falls back to vocab.json and merges.txt when there is no tokenizer.json', async () => {
    const ckpt = await loadFromHub('old/bpe-only', { baseUrl });
    expect(Object.keys(ckpt.tokenizer).sort()).toEqual(['merges.txt', 'vocab.json']);
    expectWeightsOf(ckpt, 4);
  });

  it('uses a token for a private repo', async () => {
    expectWeightsOf(await loadFromHub('someone/private-model', { baseUrl, token: 'hf_secret' }), 2);
  });

  it.each([
    [
      'a missing or private repo',
      'nobody/missing',
      {},
      'not-found',
      /no public model "nobody\/missing" on the Hub: check the name, or, if it is private, give an access token/,
    ],
    [
      'a private repo with a wrong token',
      'someone/private-model',
      { token: 'wrong' },
      'not-found',
      /no model "someone\/private-model" that this token can read/,
    ],
    [
      'a gated repo',
      'org/gated',
      {},
      'unauthorized',
      /org\/gated is a gated model: accept its terms on the Hub and give an access token/,
    ],
    [
      'a repo with only PyTorch weights',
      'old/pickle',
      {},
      'not-found',
      /old\/pickle has no model\.safetensors and no model\.safetensors\.index\.json \(Hearth reads only safetensors weights, not pytorch_model\.bin\)/,
    ],
    [
      'a model Hearth cannot run',
      'tiiuae/falcon-tiny',
      {},
      'unsupported-model',
      /model_type "falcon"; Hearth runs GPT-2 models \(model_type "gpt2"\), Llama models \(model_type "llama"\), Mistral models \(model_type "mistral"\), Qwen2 models \(model_type "qwen2"\), GPT-NeoX models \(model_type "gpt_neox"\)/,
    ],
    ['a name that is not a repo id', '../../etc/passwd', {}, 'not-found', /is not a Hub model id/],
  ])('refuses %s with a clear message', async (_label, repo, extra, code, message) => {
    requests.length = 0;
    const error = await loadFromHub(repo, { baseUrl, ...extra }).catch((e) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(requests.filter((r) => r.endsWith('model.safetensors') && repo === 'tiiuae/falcon-tiny')).toEqual([]); // refused before the weights
  });

  it('refuses a download cut short, and caches none of it', async () => {
    const cache = memoryCache();
    const error = await loadFromHub('flaky/connection', { baseUrl, cache }).catch((e) => e);
    expect(error.code).toBe('network');
    expect(error.message).toMatch(/download of flaky\/connection\/model\.safetensors broke off after 1000 bytes/);
    expect([...cache.map.keys()].some((k) => k.endsWith('model.safetensors'))).toBe(false);
  });

  it('says when the Hub cannot be reached', async () => {
    const error = await loadFromHub('gpt2-tiny', { baseUrl: 'http://127.0.0.1:9' }).catch((e) => e);
    expect(error.code).toBe('network');
    expect(error.message).toMatch(/could not reach 127\.0\.0\.1:9 for gpt2-tiny\/config\.json/);
  });

  it('caches in IndexedDB where the Cache API is missing', async () => {
    const cache = await browserHubCache('hearth-hub-test');
    await loadFromHub('gpt2-tiny', { baseUrl, cache });
    requests.length = 0;
    expectWeightsOf(await loadFromHub('gpt2-tiny', { baseUrl, cache }), 1);
    expect(requests).toEqual([]);
  });

  it('normalises repo ids', () => {
    expect(normaliseRepoId(' https://huggingface.co/openai-community/gpt2/tree/main ')).toBe('openai-community/gpt2');
    expect(normaliseRepoId('distilgpt2')).toBe('distilgpt2');
    expect(() => normaliseRepoId('a/b/c')).toThrow(/not a Hub model id/);
  });
});
