// Node only (the CLI): checkpoints as Hugging Face folders on disk. The browser never imports this file.
//
// A folder is written as `X.tmp-S` beside its place and renamed into it; a folder it replaces is first
// renamed aside to `X.old-S` (S names the writing process and the write), and a folder that rotation
// deletes is renamed aside the same way before it is removed. So `X` is always whole or absent, and a
// process killed at any instant leaves only `.tmp-`/`.old-` folders, which the next writer or reader
// resolves: a replace cut between its two renames is finished (`X.tmp-S` and `X.old-S` with no `X`),
// everything else a dead writer left is removed.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isCheckpointFile } from './archive.ts';
import { CheckpointError } from './errors.ts';
import { checkpointToFiles, type CheckpointFiles, type HearthCheckpoint, type ToFilesOptions } from './hf_folder.ts';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './shards.ts';
import { checkpointsToDelete, type RotationCandidate } from './rotation.ts';
import { STATE_FILE } from './training_state.ts';

/** A plain Uint8Array over a Buffer's bytes (Buffer's slice() shares memory, which surprises). */
function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function suffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** `X.tmp-S` or `X.old-S`, where S is `{pid}-{8 hex digits}`. */
const ASIDE = /^(.+)\.(tmp|old)-((\d+)-[0-9a-f]{8})$/;
/** This process's writes in progress, by suffix: never taken for a dead writer's leftovers. */
const inFlight = new Set<string>();

function writerAlive(pid: number): boolean {
  if (pid === process.pid) return false; // ours, yet not in flight: an earlier process that had our pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * Resolves what writers killed mid-write left in `parent` (only for the folder named `only`, when given): finishes a
 * replace cut between its renames, and removes every other `.tmp-`/`.old-` folder of a writer that is gone. Folders
 * of live writers are left alone. Returns the names removed or restored.
 */
export async function recoverInterruptedWrites(parent: string, only?: string): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const present = new Set(names);
  const writes = new Map<string, { base: string; tmp?: string; old?: string }>();
  for (const name of names) {
    const m = ASIDE.exec(name);
    if (!m || (only !== undefined && m[1] !== only)) continue;
    const [, base, kind, writeId, pid] = m;
    if (inFlight.has(writeId) || writerAlive(Number(pid))) continue;
    const key = `${base}\0${writeId}`;
    const w = writes.get(key) ?? { base };
    w[kind as 'tmp' | 'old'] = name;
    writes.set(key, w);
  }
  const resolved: string[] = [];
  for (const w of writes.values()) {
    // The old folder was renamed aside only once the new one was complete: the replace can be finished.
    if (w.tmp && w.old && !present.has(w.base)) {
      await rename(join(parent, w.tmp), join(parent, w.base));
      present.add(w.base);
      resolved.push(w.tmp);
      w.tmp = undefined;
    }
    for (const name of [w.tmp, w.old]) {
      if (!name) continue;
      await rm(join(parent, name), { recursive: true, force: true });
      resolved.push(name);
    }
  }
  return resolved;
}

/** Writes a file and flushes it to the disk, so that a rename after it never publishes a file still in the cache. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a folder's entries (the renames in it); not every platform can open a folder, and then this does nothing. */
async function syncFolder(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open a directory; its renames are ordered by the file system.
  }
}

/** Writes the files as folder `dir`, replacing any folder there only once the new one is complete. */
export async function writeCheckpointFolder(dir: string, files: CheckpointFiles): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  await recoverInterruptedWrites(parent, basename(dir));
  const id = suffix();
  inFlight.add(id);
  const tmp = `${dir}.tmp-${id}`;
  const old = `${dir}.old-${id}`;
  let replaced = false;
  let placed = false;
  try {
    await mkdir(tmp);
    for (const [name, bytes] of files) await writeDurably(join(tmp, name), bytes);
    await syncFolder(tmp);
    try {
      await rename(dir, old);
      replaced = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(tmp, dir);
    placed = true;
    await syncFolder(parent);
    if (replaced) await rm(old, { recursive: true, force: true });
  } catch (err) {
    if (replaced && !placed) await rename(old, dir).catch(() => undefined); // the new folder did not take its place
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    inFlight.delete(id);
  }
}

/** Removes a folder so that it is never seen half-deleted under its name: renamed aside first, then deleted. */
async function removeFolder(dir: string): Promise<void> {
  const id = suffix();
  inFlight.add(id);
  const aside = `${dir}.old-${id}`;
  try {
    await rename(dir, aside);
    await rm(aside, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  } finally {
    inFlight.delete(id);
  }
}

/** Reads the checkpoint files found in `dir` (others, like README.md, are left alone). */
export async function readCheckpointFolder(dir: string): Promise<CheckpointFiles> {
  await recoverInterruptedWrites(dirname(dir), basename(dir));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new CheckpointError('not-found', `cannot read folder ${dir}: ${(err as Error).message}`);
  }
  const files: CheckpointFiles = new Map();
  for (const name of names) {
    if (isCheckpointFile(name)) files.set(name, plain(await readFile(join(dir, name))));
  }
  if (!files.has(WEIGHTS_FILE) && !files.has(WEIGHTS_INDEX_FILE) && names.includes('pytorch_model.bin')) {
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
  return saveCheckpointFiles(outDir, ckpt.training?.step ?? 0, checkpointToFiles(ckpt, options), options);
}

/**
 * Saves files as `outDir/checkpoint-{step}` (a full model's, or a LoRA adapter's with its training state) and rotates
 * the run's checkpoint folders by save_total_limit, the new one complete before any old one goes.
 */
export async function saveCheckpointFiles(
  outDir: string,
  step: number,
  files: CheckpointFiles,
  options: Pick<FolderSaveOptions, 'saveTotalLimit' | 'keepBest'> = {},
): Promise<string> {
  const dir = join(outDir, `checkpoint-${step}`);
  await writeCheckpointFolder(dir, files);
  if (options.saveTotalLimit) {
    const candidates = await listCheckpointFolders(outDir);
    for (const id of checkpointsToDelete(candidates, options.saveTotalLimit, options.keepBest ?? false)) {
      await removeFolder(join(outDir, id));
    }
  }
  return dir;
}

/**
 * The `checkpoint-*` folders of a run with their step and eval loss (id = folder name), once what killed writers
 * left in the run's folder has been resolved.
 */
export async function listCheckpointFolders(outDir: string): Promise<RotationCandidate[]> {
  await recoverInterruptedWrites(outDir);
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
