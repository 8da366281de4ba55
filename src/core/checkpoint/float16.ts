// Half-precision conversions for safetensors F16 and BF16 (no Float16Array in our Node or every browser).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits to a float32 value (exact: every half is a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 to binary16 bits, rounding to nearest even; overflow becomes infinity. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf, NaN (kept quiet)
  const e = exp - 127 + 15; // rebias
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000; // with the implicit bit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && out & 1)) out++;
    return sign | out; // a carry into bit 10 lands on the smallest normal, as it should
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && out & 1)) out++; // a carry may round up to infinity: correct
  return sign | out;
}

let halfTable: Float32Array | null = null;

/** Decodes little-endian F16 bytes to float32 through a 64K-entry table (fast for large tensors). */
export function decodeF16(bytes: Uint8Array, out: Float32Array): void {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  const t = halfTable;
  for (let i = 0, j = 0; i < out.length; i++, j += 2) out[i] = t[bytes[j] | (bytes[j + 1] << 8)];
}

/** Decodes little-endian BF16 bytes: a bfloat16 is the top half of a float32. */
export function decodeBF16(bytes: Uint8Array, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0, j = 0; i < out.length; i++, j += 2) bits[i] = ((bytes[j] | (bytes[j + 1] << 8)) << 16) >>> 0;
}

/** float32 to bfloat16 bits: the top 16 bits, rounded to nearest even (as PyTorch's .to(torch.bfloat16)). */
export function floatToBF16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40; // NaN stays a quiet NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff; // a carry may round up to infinity: correct
}

/**
 * Encodes float32 values as little-endian F16 or BF16. Returns the index of the first finite value that rounded to
 * infinity (beyond the format's range), or -1.
 */
export function encodeHalf(data: Float32Array, out: Uint8Array, dtype: 'F16' | 'BF16'): number {
  const convert = dtype === 'F16' ? floatToHalf : floatToBF16;
  const infinity = dtype === 'F16' ? 0x7c00 : 0x7f80;
  let overflow = -1;
  for (let i = 0, j = 0; i < data.length; i++, j += 2) {
    const h = convert(data[i]);
    out[j] = h & 0xff;
    out[j + 1] = h >>> 8;
    if (overflow < 0 && (h & 0x7fff) === infinity && Number.isFinite(data[i])) overflow = i;
  }
  return overflow;
}
