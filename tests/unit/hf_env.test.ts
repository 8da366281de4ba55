// Hugging Face's environment variables as the CLI reads them: huggingface_hub's names and precedence.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hfEnv } from '../../src/cli/hf_env.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-hf-env-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('hfEnv', () => {
  it('defaults to the Hub, no token and ~/.cache/huggingface/hub', () => {
    expect(hfEnv({ HF_HOME: undefined })).toEqual({
      endpoint: 'https://huggingface.co',
      token: undefined,
      hubCache: join(homedir(), '.cache', 'huggingface', 'hub'),
    });
  });

  it('puts the cache under XDG_CACHE_HOME, then HF_HOME, then HF_HUB_CACHE', () => {
    expect(hfEnv({ XDG_CACHE_HOME: '/x' }).hubCache).toBe('/x/huggingface/hub');
    expect(hfEnv({ XDG_CACHE_HOME: '/x', HF_HOME: '/h' }).hubCache).toBe('/h/hub');
    expect(hfEnv({ XDG_CACHE_HOME: '/x', HF_HOME: '/h', HF_HUB_CACHE: '/c' }).hubCache).toBe('/c');
  });

  it('takes a mirror from HF_ENDPOINT', () => {
    expect(hfEnv({ HF_HOME: dir, HF_ENDPOINT: 'https://hf-mirror.example/' }).endpoint).toBe(
      'https://hf-mirror.example',
    );
  });

  it('takes the token from HF_TOKEN, else the token file under HF_HOME or at HF_TOKEN_PATH', async () => {
    expect(hfEnv({ HF_HOME: dir }).token).toBeUndefined();
    await writeFile(join(dir, 'token'), 'hf_from_file\n');
    expect(hfEnv({ HF_HOME: dir }).token).toBe('hf_from_file');
    await writeFile(join(dir, 'other'), '  hf_other  ');
    expect(hfEnv({ HF_HOME: dir, HF_TOKEN_PATH: join(dir, 'other') }).token).toBe('hf_other');
    expect(hfEnv({ HF_HOME: dir, HF_TOKEN: 'hf_env' }).token).toBe('hf_env');
  });
});
