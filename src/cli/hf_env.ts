// Hugging Face's environment variables, read as huggingface_hub reads them, so a user's mirror, token and cache
// serve the CLI as they serve Python.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HUB_BASE_URL } from '../core/checkpoint/hub.ts';

export interface HfEnv {
  /** HF_ENDPOINT, else the Hub */
  endpoint: string;
  /** HF_TOKEN, else the token file `huggingface-cli login` writes (HF_TOKEN_PATH, else HF_HOME/token) */
  token: string | undefined;
  /** HF_HUB_CACHE, else HF_HOME/hub, HF_HOME defaulting to XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface */
  hubCache: string;
}

export function hfEnv(env: NodeJS.ProcessEnv = process.env): HfEnv {
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  let token = env.HF_TOKEN?.trim() || undefined;
  if (!token) {
    try {
      token = readFileSync(env.HF_TOKEN_PATH || join(home, 'token'), 'utf8').trim() || undefined;
    } catch {
      // no token file: public repos only
    }
  }
  return {
    endpoint: (env.HF_ENDPOINT || HUB_BASE_URL).replace(/\/+$/, ''),
    token,
    hubCache: env.HF_HUB_CACHE || join(home, 'hub'),
  };
}
