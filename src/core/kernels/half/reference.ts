// float64 references for IEEE binary16 (f16): rounding, bit patterns and the two-per-u32 packing the kernels use.
// Node 20 has neither Math.f16round nor Float16Array, so the rounding is written out.

/** f16's largest finite value; anything from 65520 (the midpoint to 65536) up rounds to infinity. */
export const HALF_MAX = 65504;

function roundHalfToEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The f16 value nearest to x (ties to even), ±Infinity past 65504, NaN for NaN; subnormals kept. */
export function roundToHalf(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  // Spacing of f16 values around a: 2^(e-10) for normal numbers, 2^-24 below 2^-14 (subnormals).
  const quantum = 2 ** (Math.max(e, -14) - 10);
  return Math.sign(x) * roundHalfToEven(a / quantum) * quantum;
}

/** Every element rounded to f16, as float32 (each f16 value is exactly a float32). */
export function roundArrayToHalf(a: ArrayLike<number>): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = roundToHalf(a[i]);
  return out;
}

/** The number an f16 bit pattern stands for. */
export function halfFromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The first n values of packed f16 data (element 2i in word i's low half, 2i + 1 in its high half). */
export function unpackHalves(words: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const word = words[i >> 1] >>> 0;
    out[i] = halfFromBits(i & 1 ? word >>> 16 : word & 0xffff);
  }
  return out;
}

/** The two f16 values next to x (equal when x is one), for checking a conversion that may round either way. */
export function halfNeighbours(x: number): [number, number] {
  const r = roundToHalf(x);
  if (r === x || !Number.isFinite(r)) return [r, r];
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const quantum = 2 ** (Math.max(e, -14) - 10);
  const below = Math.floor(x / quantum) * quantum;
  return [below, below + quantum];
}
