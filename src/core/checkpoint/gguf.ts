// GGUF, llama.cpp's single-file model format (version 3): a header of typed metadata and tensor descriptions, then
// each tensor's bytes at an aligned offset. This file knows the container and the tensor encodings (F32, F16 and
// Q8_0); which tensors and keys a model family writes is in gguf_export.ts.
import { floatToHalf } from './float16.ts';

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const VERSION = 3;
/** llama.cpp's default alignment, written as general.alignment too. */
export const GGUF_ALIGNMENT = 32;

/** ggml's type ids for the tensor encodings Hearth writes. */
const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

/** Q8_0: blocks of 32 values, each an f16 scale then 32 int8s. */
export const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

/** GGUF's metadata value types. */
const enum ValueType {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'i32[]'; value: ArrayLike<number> }
  | { type: 'f32[]'; value: ArrayLike<number> };

export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });
export const strings = (value: readonly string[]): GgufValue => ({ type: 'string[]', value });
export const int32s = (value: ArrayLike<number>): GgufValue => ({ type: 'i32[]', value });
export const f32s = (value: ArrayLike<number>): GgufValue => ({ type: 'f32[]', value });

export interface GgufTensor {
  name: string;
  /** ggml's dims, fastest-varying first: a row-major (rows, cols) matrix is [cols, rows] */
  dims: number[];
  type: GgmlType;
  /** row-major values, asked for only when the file's bytes are written (so a transposed copy lives briefly) */
  values(): Float32Array;
}

/** A GGUF file as its parts, in order; `size` is known before any tensor is encoded. */
export interface GgufFile {
  size: number;
  /** the header, then each tensor's bytes and padding, encoded one tensor at a time */
  parts(): Generator<Uint8Array>;
}

function tensorByteSize(type: GgmlType, count: number): number {
  if (type === 'F32') return 4 * count;
  if (type === 'F16') return 2 * count;
  if (count % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${count}`);
  return (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
}

const padTo = (n: number, align: number) => Math.ceil(n / align) * align;

/** Lays out a GGUF file: metadata in the order given, tensors in the order given, each at an aligned offset. */
export function buildGguf(metadata: readonly [string, GgufValue][], tensors: readonly GgufTensor[]): GgufFile {
  const header = new ByteWriter();
  header.u32(MAGIC);
  header.u32(VERSION);
  header.u64(tensors.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (t.type === 'Q8_0' && t.dims[0] % Q8_0_BLOCK !== 0)
      throw new Error(`${t.name}: Q8_0 rows must be a multiple of ${Q8_0_BLOCK} values long, not ${t.dims[0]}`);
    header.string(t.name);
    header.u32(t.dims.length);
    for (const d of t.dims) header.u64(d);
    header.u32(GGML_TYPE[t.type]);
    header.u64(offset);
    offsets.push(offset);
    offset = padTo(offset + tensorByteSize(t.type, count), GGUF_ALIGNMENT);
  }
  const headerBytes = header.bytes();
  const dataStart = padTo(headerBytes.length, GGUF_ALIGNMENT);
  return {
    size: dataStart + offset,
    *parts() {
      yield headerBytes;
      yield new Uint8Array(dataStart - headerBytes.length);
      for (let i = 0; i < tensors.length; i++) {
        const bytes = encodeTensor(tensors[i]);
        yield bytes;
        const at = offsets[i] + bytes.length;
        const next = i + 1 < tensors.length ? offsets[i + 1] : offset;
        if (next > at) yield new Uint8Array(next - at);
      }
    },
  };
}

/** The whole file as a Blob (the browser keeps Blob parts out of the JavaScript heap). */
export function ggufBlob(file: GgufFile): Blob {
  return new Blob([...file.parts()] as BlobPart[], { type: 'application/octet-stream' });
}

function encodeTensor(t: GgufTensor): Uint8Array {
  const x = t.values();
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== x.length) throw new Error(`${t.name}: dims [${t.dims}] hold ${count} values, not ${x.length}`);
  if (t.type === 'F32') return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (t.type === 'F16') {
    const out = new Uint8Array(2 * x.length);
    const view = new DataView(out.buffer);
    for (let i = 0; i < x.length; i++) view.setUint16(2 * i, floatToHalf(x[i]), true);
    return out;
  }
  return quantizeQ8_0(x);
}

/**
 * llama.cpp's Q8_0 (quantize_row_q8_0_ref), in float32 as it computes: per block of 32, d = max|x| / 127 stored as
 * f16, and q = round(x · (1/d)) with halves rounded away from zero; an all-zero block has d = 0 and q = 0.
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const blocks = tensorByteSize('Q8_0', x.length) / Q8_0_BLOCK_BYTES;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  const fr = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(x[base + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    const at = b * Q8_0_BLOCK_BYTES;
    view.setUint16(at, floatToHalf(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const v = fr(x[base + j] * id);
      view.setInt8(at + 2 + j, Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  switch (v.type) {
    case 'u32':
      w.u32(ValueType.UINT32);
      w.u32(v.value);
      return;
    case 'f32':
      w.u32(ValueType.FLOAT32);
      w.f32(v.value);
      return;
    case 'bool':
      w.u32(ValueType.BOOL);
      w.u8(v.value ? 1 : 0);
      return;
    case 'string':
      w.u32(ValueType.STRING);
      w.string(v.value);
      return;
    case 'string[]':
      w.u32(ValueType.ARRAY);
      w.u32(ValueType.STRING);
      w.u64(v.value.length);
      for (const s of v.value) w.string(s);
      return;
    case 'i32[]':
      w.u32(ValueType.ARRAY);
      w.u32(ValueType.INT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.i32(v.value[i]);
      return;
    case 'f32[]':
      w.u32(ValueType.ARRAY);
      w.u32(ValueType.FLOAT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.f32(v.value[i]);
      return;
  }
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private length = 0;
  private readonly encoder = new TextEncoder();

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  string(s: string): void {
    const bytes = this.encoder.encode(s);
    this.u64(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
