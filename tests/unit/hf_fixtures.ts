// Weights files written the way transformers' save_pretrained writes them, by a writer of the tests' own (not
// Hearth's): the safetensors header with dtype, shape and data_offsets, __metadata__ {"format": "pt"} first, the data
// ordered by dtype size then name as the safetensors library orders it, the header padded with spaces to 8 bytes;
// above a size limit, shards model-00001-of-0000N.safetensors and model.safetensors.index.json.
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { floatToHalf } from '../../src/core/checkpoint/float16.ts';

export type HfDtype = 'F32' | 'F16' | 'BF16';
const ITEM_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** bfloat16 bits of x rounded to the nearest, ties to the even one: chosen by comparing the two neighbours. */
export function bf16Bits(x: number): number {
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  const below = bits >>> 16;
  const above = below + 1;
  const value = (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0];
  const dBelow = Math.abs(x - value(below));
  const dAbove = Math.abs(value(above) - x);
  if (dBelow < dAbove) return below;
  if (dAbove < dBelow) return above;
  return below % 2 === 0 ? below : above;
}

/** The float32 value of a bfloat16's bits. */
export function bf16Value(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
}

/** Float32 values as a tensor of the given dtype (BF16 and F16 rounded to the nearest). */
export function rawTensor(data: Float32Array, shape: number[], dtype: HfDtype): RawTensor {
  if (dtype === 'F32') return { dtype, shape, bytes: new Uint8Array(data.slice().buffer) };
  const halves = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) halves[i] = dtype === 'BF16' ? bf16Bits(data[i]) : floatToHalf(data[i]);
  return { dtype, shape, bytes: new Uint8Array(halves.buffer) };
}

/** One safetensors file as the safetensors library writes it. */
export function hfSafetensors(tensors: Map<string, RawTensor>): Uint8Array {
  const size = (d: string) => ITEM_BYTES[d as HfDtype] ?? 1;
  const order = [...tensors].sort(([a, x], [b, y]) => size(y.dtype) - size(x.dtype) || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of order) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const [, t] of order) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/**
 * A model's weights under GPT2LMHeadModel's names ("transformer." before each, the tied lm_head left out, as
 * save_pretrained leaves it), in `dtype`, sharded at `maxShardBytes` as save_pretrained shards.
 */
export function hfWeightFiles(
  weights: NamedTensors,
  dtype: HfDtype,
  maxShardBytes = Infinity,
  prefix = 'transformer.',
): Map<string, Uint8Array> {
  const shards: Map<string, RawTensor>[] = [];
  let current = new Map<string, RawTensor>();
  let currentBytes = 0;
  let total = 0;
  for (const [name, t] of weights) {
    const raw = rawTensor(t.data, t.shape, dtype);
    total += raw.bytes.length;
    if (raw.bytes.length > maxShardBytes) {
      shards.push(new Map([[prefix + name, raw]]));
      continue;
    }
    if (currentBytes + raw.bytes.length > maxShardBytes && current.size > 0) {
      shards.push(current);
      current = new Map();
      currentBytes = 0;
    }
    current.set(prefix + name, raw);
    currentBytes += raw.bytes.length;
  }
  if (current.size > 0) shards.push(current);
  const files = new Map<string, Uint8Array>();
  if (shards.length === 1) {
    files.set('model.safetensors', hfSafetensors(shards[0]));
    return files;
  }
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    files.set(name, hfSafetensors(shard));
    for (const tensor of shard.keys()) weightMap[tensor] = name;
  });
  const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
  const index = { metadata: { total_size: total }, weight_map: sorted };
  files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(index, null, 2) + '\n'));
  return files;
}
