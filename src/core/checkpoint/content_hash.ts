// A fingerprint of a checkpoint's files, so that importing the same checkpoint twice can be noticed: SHA-256 of each
// file (Web Crypto, one file at a time, never the whole checkpoint in one buffer), then SHA-256 of the sorted list
// of "name NUL hex-digest LF" lines. The same files give the same hash whatever order they come in.
import type { CheckpointFiles } from './hf_folder.ts';

/** Lowercase hex SHA-256 of the files; null where there is no Web Crypto (a page served over plain http). */
export async function checkpointContentHash(files: CheckpointFiles): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  const lines: string[] = [];
  for (const [name, bytes] of files)
    lines.push(`${name}\0${hex(await subtle.digest('SHA-256', bytes as BufferSource))}\n`);
  lines.sort();
  return hex(await subtle.digest('SHA-256', new TextEncoder().encode(lines.join(''))));
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}
