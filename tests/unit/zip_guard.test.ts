// Zips built to cost memory: entries with honest sizes and an absurd compression ratio, and a safetensors file whose
// header is refused before the rest of it is inflated.
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { checkpointFromZip } from '../../src/core/checkpoint/archive.ts';
import { CheckpointError } from '../../src/core/checkpoint/errors.ts';
import { checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { rng } from '../helpers.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';

/** A checkpoint zip whose model.safetensors is replaced by `weights`, deflated, and written last. */
function zipWithWeights(weights: Uint8Array): Uint8Array {
  const files = checkpointToFiles(tinyCheckpoint());
  files.delete('model.safetensors');
  return zipSync({ ...Object.fromEntries(files), 'model.safetensors': [weights, { level: 6 }] });
}

/** Where the last entry's compressed data lies (the central directory follows it). */
function lastEntryData(zip: Uint8Array): { start: number; end: number } {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const cdOffset = view.getUint32(eocd + 16, true);
  let p = cdOffset;
  let local = 0;
  for (let i = 0; i < view.getUint16(eocd + 10, true); i++) {
    local = view.getUint32(p + 42, true);
    p += 46 + view.getUint16(p + 28, true) + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
  }
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  return { start, end: cdOffset };
}

function refusal(bytes: Uint8Array): CheckpointError {
  try {
    checkpointFromZip(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('the zip was accepted');
}

describe('zip bombs with honest sizes', () => {
  it('refuses an entry whose declared size is a thousand times its compressed size, before inflating it', () => {
    const bomb = zipWithWeights(new Uint8Array(64 * 1024 ** 2)); // 64 MiB of zeros deflate to about 64 KiB
    expect(bomb.length).toBeLessThan(1024 ** 2);
    const error = refusal(bomb); // under the default 4 GiB total: only the ratio betrays it
    expect(error.code).toBe('zip-bomb');
    expect(error.message).toMatch(
      /^zip: "model\.safetensors" would inflate 64\.0 MiB from [\d.]+ KiB \(\d{3,4}:1, over the 100:1 no checkpoint file comes near\); refusing the archive \(zip bomb\?\)$/,
    );
  });

  it('judges a safetensors header before inflating the rest of the file', () => {
    // A header that is not JSON, then 4 MiB that compress about 4:1 (under the ratio cap), then a damaged tail: the
    // refusal names the header, so the damage at the end was never reached.
    const r = rng();
    const weights = new Uint8Array(4 * 1024 ** 2).map(() => Math.floor(r.uniform() * 4));
    const header = new TextEncoder().encode('{"wte.weight": not json}');
    new DataView(weights.buffer).setBigUint64(0, BigInt(header.length), true);
    weights.set(header, 8);
    const zip = zipWithWeights(weights);
    const { start, end } = lastEntryData(zip);
    expect(end - start).toBeGreaterThan(64 * 1024);
    for (let i = end - 2000; i < end - 1000; i++) zip[i] ^= 0xa5;
    const error = refusal(zip);
    expect(error.code).toBe('invalid-file');
    expect(error.message).toMatch(/^model\.safetensors: header is not valid JSON/);
  });

  it('refuses a header whose tensors do not fill the declared size, before inflating the data', () => {
    const r = rng();
    const weights = new Uint8Array(2 * 1024 ** 2).map(() => Math.floor(r.uniform() * 4));
    const header = new TextEncoder().encode(
      JSON.stringify({ 'wte.weight': { dtype: 'F32', shape: [13, 8], data_offsets: [0, 416] } }),
    );
    new DataView(weights.buffer).setBigUint64(0, BigInt(header.length), true);
    weights.set(header, 8);
    const zip = zipWithWeights(weights);
    const { end } = lastEntryData(zip);
    for (let i = end - 2000; i < end - 1000; i++) zip[i] ^= 0xa5;
    expect(refusal(zip).message).toMatch(
      /^model\.safetensors: \d+ bytes after the last tensor belong to no tensor \(file damaged or padded\)$/,
    );
  });
});
