import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/core/checkpoint/errors.ts';
import { floatToHalf, halfToFloat } from '../../src/core/checkpoint/float16.ts';
import { parseSafetensorsHeader, readSafetensors, writeSafetensors } from '../../src/core/checkpoint/safetensors.ts';
import { parseStrictJson } from '../../src/core/checkpoint/strict_json.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { rng } from '../helpers.ts';

/** A safetensors file from a header text and data bytes, as another writer might make it. */
function raw(header: string, data: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  const view = new DataView(out.buffer);
  const len = declaredLength ?? json.length;
  view.setUint32(0, len % 2 ** 32, true);
  view.setUint32(4, Math.floor(len / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

describe('safetensors write and read', () => {
  it('round-trips float32 bit for bit, keeps metadata, pads the header to 8 bytes with spaces', () => {
    const r = rng();
    const special = [0, -0, 1e-45, -3.4028234663852886e38, 1.1754942e-38, Math.fround(Math.PI)];
    const tensors: NamedTensors = new Map([
      ['a.weight', { shape: [3, 5], data: r.normals(15) }],
      ['odd', { shape: [7], data: new Float32Array([...special, 0.1]) }],
      ['scalar', { shape: [], data: new Float32Array([42]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(tensors, { metadata: { format: 'pt', note: 'hi' } });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLen));
    expect(headerText).toMatch(/^\{.*\} *$/);
    const { tensors: back, metadata, dtypes } = readSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'hi' });
    expect([...back.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      expect(bitwiseEqual(back.get(name)!, t), name).toBe(true);
      expect(dtypes.get(name)).toBe('F32');
    }
  });

  it('writes F16 rounded to nearest and reads it back as float32', () => {
    const values = new Float32Array([1, -2.5, 65504, 1e-8, 0.1, 3.14159, -0]);
    const bytes = writeSafetensors([['x', { shape: [7], data: values }]], { dtype: 'F16' });
    const x = readSafetensors(bytes).tensors.get('x')!;
    for (let i = 0; i < values.length; i++) expect(x.data[i]).toBe(halfToFloat(floatToHalf(values[i])));
    expect(Array.from(x.data.subarray(0, 3))).toEqual([1, -2.5, 65504]);
    expect(x.data[4]).toBeCloseTo(0.1, 3);
  });

  it('reads BF16, F16 and F64 files with unaligned offsets, as written elsewhere', () => {
    // bf16 of 1.5, -2, 0.15625 is the top 16 bits of their float32 patterns.
    const bf16 = new Uint8Array(6);
    const f32 = new Uint32Array(new Float32Array([1.5, -2, 0.15625]).buffer);
    f32.forEach((bits, i) => new DataView(bf16.buffer).setUint16(2 * i, bits >>> 16, true));
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]); // 1, -2, smallest subnormal
    const f64 = new Uint8Array(new Float64Array([0.5, -1e300]).buffer);
    const f32b = f32Bytes([7.25]);
    const data = new Uint8Array([...bf16, ...f16, ...f32b, ...f64]);
    const header =
      JSON.stringify({
        c: { dtype: 'F32', shape: [1], data_offsets: [12, 16] }, // at an offset that is not a multiple of 4 in the file
        b: { dtype: 'F16', shape: [3], data_offsets: [6, 12] },
        a: { dtype: 'BF16', shape: [3], data_offsets: [0, 6] },
        d: { dtype: 'F64', shape: [1, 2], data_offsets: [16, 32] },
      }) + '   ';
    const { tensors } = readSafetensors(raw(header, data), { requireFinite: false });
    expect(Array.from(tensors.get('a')!.data)).toEqual([1.5, -2, 0.15625]);
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(tensors.get('c')!.data)).toEqual([7.25]);
    expect(tensors.get('d')!.shape).toEqual([1, 2]);
    expect(Array.from(tensors.get('d')!.data)).toEqual([0.5, -Infinity]); // float32 overflow
  });

  it('skips names on request without decoding them', () => {
    const bytes = writeSafetensors([
      ['keep', { shape: [1], data: new Float32Array([1]) }],
      ['drop', { shape: [1], data: new Float32Array([NaN]) }],
    ]);
    const { tensors } = readSafetensors(bytes, { skip: (n) => n === 'drop' });
    expect([...tensors.keys()]).toEqual(['keep']);
  });
});

describe('float16 conversion', () => {
  it('returns every finite half unchanged through float32', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN ? !Number.isNaN(halfToFloat(h)) : floatToHalf(halfToFloat(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest, ties to even, overflow to infinity, tiny to zero', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie, even stays
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, rounds up to even
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(floatToHalf(3 * 2 ** -26)).toBe(1);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
    const r = rng();
    const notNearest: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((r.uniform() - 0.5) * 2 ** Math.floor(r.uniform() * 40 - 28));
      const h = floatToHalf(x);
      const err = Math.abs(halfToFloat(h) - x);
      for (const n of [h - 1, h + 1]) {
        const sameSignFinite = (n & 0x7fff) < 0x7c00 && (n & 0x8000) === (h & 0x8000);
        if (sameSignFinite && Math.abs(halfToFloat(n) - x) < err) notNearest.push(x);
      }
    }
    expect(notNearest).toEqual([]);
  });
});

describe('safetensors refuses malformed files with a clear message', () => {
  const good = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const two = f32Bytes([1, 2]);
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['empty file', () => new Uint8Array(0), /truncated: 0 bytes/],
    ['shorter than the length field', () => new Uint8Array(5), /truncated: 5 bytes/],
    [
      'header length past the end',
      () => raw(JSON.stringify({ a: good }), two, 5000),
      /header length 5000 runs past the end of the file/,
    ],
    ['header length over 100 MB', () => raw('{}', new Uint8Array(0), 2 ** 40), /over the 100000000-byte limit/],
    ['non-JSON header', () => raw('{"a": {"dtype": F32}}'), /header is not valid JSON/],
    ['header not an object', () => raw('[1, 2]'), /header must be a JSON object/],
    ['invalid UTF-8 header', () => raw('{}').map((b, i) => (i === 9 ? 0xff : b)), /not valid UTF-8/],
    ['deeply nested header', () => raw('['.repeat(5000) + ']'.repeat(5000)), /not valid JSON \(nesting deeper/],
    [
      'duplicate tensor names',
      () => raw(`{"a": ${JSON.stringify(good)}, "a": ${JSON.stringify(good)}}`, two),
      /duplicate key "a"/,
    ],
    [
      'unknown dtype',
      () => raw(JSON.stringify({ a: { ...good, dtype: 'F17' } }), two),
      /tensor "a": unknown dtype "F17"/,
    ],
    [
      'wrong shape for its bytes',
      () => raw(JSON.stringify({ a: { ...good, shape: [3] } }), two),
      /shape \(3\) of F32 needs 12 bytes but data_offsets span 8/,
    ],
    ['negative shape', () => raw(JSON.stringify({ a: { ...good, shape: [-2] } }), two), /non-negative integers/],
    ['offsets backwards', () => raw(JSON.stringify({ a: { ...good, data_offsets: [8, 0] } }), two), /run backwards/],
    [
      'offsets past the data (truncated file)',
      () => raw(JSON.stringify({ a: { ...good, shape: [4], data_offsets: [0, 16] } }), two),
      /run past the end of the data section \(8 bytes\)/,
    ],
    [
      'overlapping offsets',
      () => raw(JSON.stringify({ a: good, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), two),
      /tensors "a" and "b" overlap/,
    ],
    [
      'a gap between tensors',
      () => raw(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), two),
      /bytes 0..4 of the data section belong to no tensor/,
    ],
    ['trailing bytes', () => raw(JSON.stringify({ a: good }), f32Bytes([1, 2, 3])), /4 bytes after the last tensor/],
    [
      'NaN values',
      () => writeSafetensors([['h.0.attn.c_proj.weight', { shape: [3], data: new Float32Array([0, NaN, 1]) }]]),
      /tensor "h.0.attn.c_proj.weight" holds NaN at element 1/,
    ],
    [
      'infinite values',
      () => writeSafetensors([['w', { shape: [1], data: new Float32Array([-Infinity]) }]]),
      /tensor "w" holds -Infinity/,
    ],
    [
      'integer dtype where weights belong',
      () => raw(JSON.stringify({ a: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }), two),
      /dtype I32; Hearth reads float tensors only/,
    ],
    [
      'metadata that is not strings',
      () => raw(JSON.stringify({ __metadata__: { n: 1 } })),
      /__metadata__ value for "n" must be a string/,
    ],
  ];
  it.each(cases)('%s', (_label, make, message) => {
    let error: unknown;
    try {
      readSafetensors(make(), { fileName: 'model.safetensors' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).code).toBe('invalid-file');
    expect((error as Error).message).toMatch(/^model\.safetensors: /);
    expect((error as Error).message).toMatch(message);
  });

  it('checks the header without reading any data', () => {
    const bytes = writeSafetensors([['w', { shape: [2, 2], data: new Float32Array(4) }]]);
    const index = parseSafetensorsHeader(bytes);
    expect(index.entries).toEqual([
      { name: 'w', dtype: 'F32', shape: [2, 2], begin: bytes.length - 16, end: bytes.length },
    ]);
  });
});

describe('strict JSON', () => {
  it('parses what JSON.parse parses, without prototypes', () => {
    const text = '{"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"], "b": {"__proto__": 1}}';
    const v = parseStrictJson(text) as Record<string, unknown>;
    expect(JSON.stringify(v)).toBe(JSON.stringify(JSON.parse(text)));
    expect(Object.getPrototypeOf(v)).toBe(null);
  });
  it.each(['{"a":1,}', '[1 2]', '{"a" 1}', '01', '"open', '{} x', 'nul'])('refuses %s', (text) => {
    expect(() => parseStrictJson(text)).toThrow(SyntaxError);
  });
});
