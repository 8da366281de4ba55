// Node-only pieces of the data layer (the CLI's): files by path and a folder token cache.
// Kept apart so that nothing the browser bundles imports node: modules.
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { arrayOfWidth, slicePart, type ArrayReader, type ElementWidth, type TokenCache } from './cache.ts';
import type { TextSource } from './sources.ts';

/**
 * A file by path. Only a regular file: the data is read more than once (hashed for the token cache, tokenized, and
 * first read to train a tokenizer on it), and a pipe such as `<(cat data.txt)` gives its content once. Refusing it
 * is plainer than spooling an unbounded stream to memory or to a disk the user did not choose.
 */
export async function sourceFromPath(path: string): Promise<TextSource> {
  const info = await stat(path);
  if (info.isDirectory()) throw new Error(`${path} is a folder: name the files in it`);
  if (!info.isFile())
    throw new Error(
      `${path} is not a regular file (a pipe or a device, such as <(cat data.txt)): the data is read more than once, so save it to a file first`,
    );
  return {
    name: basename(path),
    size: info.size,
    stream: () => Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 16 })) as ReadableStream<Uint8Array>,
    slice: async (start, end) => {
      const file = await open(path, 'r');
      try {
        return await readAt(file, start, end - start);
      } finally {
        await file.close();
      }
    },
  };
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let done = 0; done < length;) {
    const { bytesRead } = await file.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`the file ended ${length - done} bytes early`);
    done += bytesRead;
  }
  return out;
}

/** Elements gathered before each write to the entry's file. */
const WRITE_BUFFER = 1 << 16;

/**
 * One file per entry: a 1-byte width (1, 2 or 4) and the raw little-endian values, read by range. An entry is
 * written to a .partial file and renamed when finished, so a crash mid-write leaves no truncated entry behind.
 */
export function folderTokenCache(dir: string): TokenCache {
  const file = (key: string) => join(dir, `${key.replace(/[^a-zA-Z0-9]/g, '_')}.tokens`);
  return {
    async open(key) {
      const path = file(key);
      let size: number;
      let width: number;
      try {
        size = (await stat(path)).size;
        const h = await open(path, 'r');
        try {
          width = (await readAt(h, 0, 1))[0];
        } finally {
          await h.close();
        }
      } catch {
        return undefined;
      }
      if ((width !== 1 && width !== 2 && width !== 4) || (size - 1) % width !== 0) return undefined;
      return fileReader(path, width, (size - 1) / width);
    },
    create(key, width) {
      const path = file(key);
      const partial = `${path}.partial`;
      let handle: Promise<FileHandle> | null = null;
      let pending = arrayOfWidth(width, WRITE_BUFFER);
      let filled = 0;
      let length = 0;
      const opened = () =>
        (handle ??= mkdir(dir, { recursive: true }).then(async () => {
          const h = await open(partial, 'w');
          await h.write(Uint8Array.of(width));
          return h;
        }));
      const flush = async () => {
        const h = await opened();
        await h.write(new Uint8Array(pending.buffer, 0, filled * width));
        filled = 0;
      };
      return {
        async append(values) {
          for (let at = 0; at < values.length;) {
            const n = Math.min(values.length - at, WRITE_BUFFER - filled);
            pending.set(n === values.length ? values : slicePart(values, at, at + n), filled);
            filled += n;
            at += n;
            if (filled === WRITE_BUFFER) await flush();
          }
          length += values.length;
        },
        async finish() {
          await flush();
          await (await opened()).close();
          pending = arrayOfWidth(width, 0);
          await rename(partial, path);
          return fileReader(path, width, length);
        },
        async abort() {
          if (handle) await (await handle).close();
          await rm(partial, { force: true });
        },
      };
    },
  };
}

/** Reads ranges of an entry's file; the file is opened for each read, so nothing stays open between steps. */
function fileReader(path: string, width: ElementWidth, length: number): ArrayReader {
  return {
    length,
    width,
    async read(start, end) {
      const n = Math.max(0, end - start);
      const h = await open(path, 'r');
      try {
        // A fresh buffer, so aligned whatever the entry's offset in the file.
        const bytes = await readAt(h, 1 + start * width, n * width);
        return width === 1 ? bytes : width === 2 ? new Uint16Array(bytes.buffer) : new Uint32Array(bytes.buffer);
      } finally {
        await h.close();
      }
    },
  };
}
