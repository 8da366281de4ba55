// Node only (the CLI): Hub downloads kept in the layout of Python's huggingface_hub, so Hearth and Python share one
// cache. Under the cache folder, a model repo ORG/NAME lives in `models--ORG--NAME/`:
//   refs/REVISION                 the commit a branch or tag last resolved to (the hash, no newline)
//   blobs/ETAG                    each file's bytes, named by the Hub's ETag (the SHA-256 of a large file)
//   snapshots/COMMIT/FILE         a relative symbolic link to the blob (a copy where links cannot be made)
//   .no_exist/COMMIT/FILE         an empty file: the Hub has no such file at that commit
// Files are written under a temporary name and renamed into place, so a killed download leaves no partial file
// where a reader looks.
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { NOT_ON_HUB, type HubCache, type HubFile } from './hub.ts';

const COMMIT = /^[0-9a-f]{40}$/;

/** `models--ORG--NAME`, huggingface_hub's folder for a model repo. */
export function repoFolderName(repo: string): string {
  return ['models', ...repo.split('/')].join('--');
}

function safeParts(file: string): string[] {
  const parts = file.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || /[\\:*?"<>|\0]/.test(p)))
    throw new Error(`cannot cache ${file}: unusual path`);
  return parts;
}

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

async function writeWhole(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.incomplete-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export function hfHubCache(dir: string): HubCache {
  /** The snapshot a revision names: itself when it is a commit, else the commit refs/ recorded for it. */
  const snapshotOf = async (repoDir: string, revision: string): Promise<string | undefined> => {
    if (COMMIT.test(revision)) return revision;
    const ref = await readOrUndefined(join(repoDir, 'refs', ...safeParts(revision)));
    const commit = ref?.toString('utf8').trim();
    return commit && COMMIT.test(commit) ? commit : undefined;
  };
  return {
    async get(f: HubFile) {
      const repoDir = join(dir, repoFolderName(f.repo));
      const commit = await snapshotOf(repoDir, f.revision);
      if (!commit) return undefined;
      const file = safeParts(f.file);
      const bytes = await readOrUndefined(join(repoDir, 'snapshots', commit, ...file));
      if (bytes) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return (await readOrUndefined(join(repoDir, '.no_exist', commit, ...file))) ? NOT_ON_HUB : undefined;
    },
    async put(f, bytes, meta) {
      const repoDir = join(dir, repoFolderName(f.repo));
      const file = safeParts(f.file);
      // A Hub that names no commit (some mirrors): the snapshot takes the revision's name.
      const commit = meta.commit && COMMIT.test(meta.commit) ? meta.commit : f.revision;
      safeParts(commit);
      if (bytes === NOT_ON_HUB) {
        await writeWhole(join(repoDir, '.no_exist', commit, ...file), '');
      } else {
        const blob = join(
          repoDir,
          'blobs',
          meta.etag && /^[\w.-]+$/.test(meta.etag) ? meta.etag : createHash('sha256').update(bytes).digest('hex'),
        );
        await writeWhole(blob, bytes);
        const link = join(repoDir, 'snapshots', commit, ...file);
        await mkdir(dirname(link), { recursive: true });
        const tmp = `${link}.incomplete-${process.pid}-${randomBytes(4).toString('hex')}`;
        try {
          await symlink(relative(dirname(link), blob), tmp);
        } catch {
          await copyFile(blob, tmp); // a file system without links
        }
        await rename(tmp, link).catch(async (err) => {
          await rm(tmp, { force: true });
          throw err;
        });
      }
      if (commit !== f.revision) await writeWhole(join(repoDir, 'refs', ...safeParts(f.revision)), commit);
    },
  };
}
