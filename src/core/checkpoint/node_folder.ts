// Node only (the CLI): checkpoints as Hugging Face folders on disk, and a folder cache for Hub
// downloads. Folders are written beside their final place and renamed into it, so a crash leaves
// either the old folder or the new one, never half of one. The browser never imports this file.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CHECKPOINT_FILE_NAMES } from './archive.ts';
import { CheckpointError } from './errors.ts';
import {
  checkpointToFiles,
  WEIGHTS_FILE,
  type CheckpointFiles,
  type HearthCheckpoint,
  type ToFilesOptions,
} from './hf_folder.ts';
import type { HubCache } from './hub.ts';
import { checkpointsToDelete, type RotationCandidate } from './rotation.ts';
import { STATE_FILE } from './training_state.ts';

/** A plain Uint8Array over a Buffer's bytes (Buffer's slice() shares memory, which surprises). */
function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function suffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes the files as folder `dir`, replacing any folder there only once the new one is complete. */
export async function writeCheckpointFolder(dir: string, files: CheckpointFiles): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${suffix()}`;
  try {
    await mkdir(tmp);
    for (const [name, bytes] of files) await writeFile(join(tmp, name), bytes);
    const old = `${dir}.old-${suffix()}`;
    let replaced = false;
    try {
      await rename(dir, old);
      replaced = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(tmp, dir);
    if (replaced) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Reads the checkpoint files found in `dir` (others, like README.md, are left alone). */
export async function readCheckpointFolder(dir: string): Promise<CheckpointFiles> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new CheckpointError('not-found', `cannot read folder ${dir}: ${(err as Error).message}`);
  }
  const files: CheckpointFiles = new Map();
  for (const name of names) {
    if (CHECKPOINT_FILE_NAMES.has(name)) files.set(name, plain(await readFile(join(dir, name))));
  }
  if (!files.has(WEIGHTS_FILE) && names.includes('pytorch_model.bin')) {
    throw new CheckpointError(
      'missing-file',
      `${dir} has pytorch_model.bin but no model.safetensors: Hearth reads only safetensors`,
    );
  }
  return files;
}

export interface FolderSaveOptions extends ToFilesOptions {
  saveTotalLimit?: number | null;
  keepBest?: boolean;
}

/**
 * Saves `outDir/checkpoint-{step}` as HF's Trainer does, then rotates the run's checkpoint folders
 * (the new one is complete before any old one goes). Returns the new folder.
 */
export async function saveCheckpointFolder(
  outDir: string,
  ckpt: HearthCheckpoint,
  options: FolderSaveOptions = {},
): Promise<string> {
  const step = ckpt.training?.step ?? 0;
  const dir = join(outDir, `checkpoint-${step}`);
  await writeCheckpointFolder(dir, checkpointToFiles(ckpt, options));
  if (options.saveTotalLimit) {
    const candidates = await listCheckpointFolders(outDir);
    for (const id of checkpointsToDelete(candidates, options.saveTotalLimit, options.keepBest ?? false)) {
      await rm(join(outDir, id), { recursive: true, force: true });
    }
  }
  return dir;
}

/** The `checkpoint-*` folders of a run with their step and eval loss (id = folder name). */
export async function listCheckpointFolders(outDir: string): Promise<RotationCandidate[]> {
  const out: RotationCandidate[] = [];
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    const m = /^checkpoint-(\d+)$/.exec(name);
    if (!m) continue;
    let evalLoss: number | null = null;
    try {
      const state = JSON.parse(await readFile(join(outDir, name, STATE_FILE), 'utf8'));
      if (typeof state.eval_loss === 'number') evalLoss = state.eval_loss;
    } catch {
      // no training state: still a checkpoint, just without an eval loss
    }
    out.push({ id: name, step: Number(m[1]), createdAt: 0, evalLoss });
  }
  return out;
}

export function defaultHubCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'hearth', 'hub');
}

/** Hub downloads cached as files under `dir/host/repo/resolve/revision/file`. */
export function folderHubCache(dir: string = defaultHubCacheDir()): HubCache {
  const pathOf = (key: string) => {
    const url = new URL(key);
    const parts = [url.host, ...url.pathname.split('/').filter(Boolean)].map((p) => decodeURIComponent(p));
    if (parts.some((p) => p === '.' || p === '..' || /[\\/:*?"<>|\0]/.test(p.replace(/:\d+$/, '')))) {
      throw new Error(`cannot cache ${key}: unusual path`);
    }
    return join(dir, ...parts.map((p) => p.replace(':', '_')));
  };
  return {
    async get(key) {
      try {
        return plain(await readFile(pathOf(key)));
      } catch {
        return undefined;
      }
    },
    async put(key, bytes) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${suffix()}`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    },
  };
}
