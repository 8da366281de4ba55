// Node-only pieces of the data layer (the CLI's): files by path and a folder token cache.
// Kept apart so that nothing the browser bundles imports node: modules.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { TokenCache } from './cache.ts';
import type { TextSource } from './sources.ts';
import type { TokenArray } from './tokenize.ts';

export async function sourceFromPath(path: string): Promise<TextSource> {
  const info = await stat(path);
  return {
    name: basename(path),
    size: info.size,
    stream: () => Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 16 })) as ReadableStream<Uint8Array>,
  };
}

/** One file per entry: a 1-byte width (2 or 4) and the raw little-endian ids. */
export function folderTokenCache(dir: string): TokenCache {
  const file = (key: string) => join(dir, `${key.replace(/[^a-zA-Z0-9]/g, '_')}.tokens`);
  return {
    async get(key) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file(key));
      } catch {
        return undefined;
      }
      const width = bytes[0];
      const body = bytes.buffer.slice(bytes.byteOffset + 1, bytes.byteOffset + bytes.length);
      if (width === 2 && body.byteLength % 2 === 0) return new Uint16Array(body);
      if (width === 4 && body.byteLength % 4 === 0) return new Uint32Array(body);
      return undefined;
    },
    async set(key, tokens: TokenArray) {
      await mkdir(dir, { recursive: true });
      const path = file(key);
      const partial = `${path}.partial`;
      await writeFile(
        partial,
        Buffer.concat([
          Buffer.of(tokens.BYTES_PER_ELEMENT),
          new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength),
        ]),
      );
      await rename(partial, path); // a crash mid-write leaves no truncated entry behind
    },
  };
}
