// Where a command's --model comes from: a Hugging Face folder or zip on disk, or hf:ID from the Hub (HF_ENDPOINT,
// HF_TOKEN and the cache huggingface_hub uses, as hf_env.ts reads them).
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { checkpointFromFiles, type HearthCheckpoint } from '../core/checkpoint/hf_folder.ts';
import { checkpointFromZip } from '../core/checkpoint/archive.ts';
import { loadFromHub } from '../core/checkpoint/hub.ts';
import { hfHubCache } from '../core/checkpoint/hf_hub_cache.ts';
import { readCheckpointFolder } from '../core/checkpoint/node_folder.ts';
import { hfEnv } from './hf_env.ts';
import { UsageError } from './args.ts';

const tty = process.stdout.isTTY === true;

export async function loadCheckpoint(spec: string): Promise<HearthCheckpoint> {
  if (spec.startsWith('hf:')) {
    const id = spec.slice(3);
    const env = hfEnv();
    let last = 0;
    return loadFromHub(id, {
      baseUrl: env.endpoint,
      token: env.token,
      cache: hfHubCache(env.hubCache),
      onProgress: (p) => {
        const now = Date.now();
        if (tty && now - last > 200) {
          last = now;
          process.stderr.write(`\rdownloading ${id}: ${p.file} ${(p.loaded / 2 ** 20).toFixed(1)} MiB`);
        }
      },
    }).finally(() => tty && process.stderr.write('\n'));
  }
  if (!existsSync(spec)) throw new UsageError(`no such model: '${spec}' is not a preset, a folder, a zip or hf:ID`);
  if (statSync(spec).isDirectory()) return checkpointFromFiles(await readCheckpointFolder(spec));
  return checkpointFromZip(new Uint8Array(await readFile(spec)));
}
