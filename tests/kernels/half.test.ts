import { describe, it, expect } from 'vitest';
import { useGpu, rng, tf, ODD_SIZES } from '../helpers.ts';
import { castToHalf } from '../../src/core/kernels/half/index.ts';
import {
  roundToHalf,
  halfNeighbours,
  unpackHalves,
  halfFromBits,
  HALF_MAX,
} from '../../src/core/kernels/half/reference.ts';

describe('f16 reference', () => {
  it('rounds to nearest, ties to even, with subnormals and overflow', () => {
    expect(roundToHalf(1 + 2 ** -11)).toBe(1); // tie between 1 and 1 + 2⁻¹⁰: even is 1
    expect(roundToHalf(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie: even is 1 + 2·2⁻¹⁰
    expect(roundToHalf(65519)).toBe(HALF_MAX);
    expect(roundToHalf(65520)).toBe(Infinity);
    expect(roundToHalf(-1e9)).toBe(-Infinity);
    expect(roundToHalf(2 ** -24)).toBe(2 ** -24);
    expect(roundToHalf(2 ** -26)).toBe(0);
    expect(roundToHalf(0.1)).toBe(halfFromBits(0x2e66));
    expect(halfFromBits(0x7bff)).toBe(HALF_MAX);
    expect(halfFromBits(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(halfFromBits(0x7e00))).toBe(true);
  });
});

describe('cast to packed f16', () => {
  useGpu();

  for (const n of [...ODD_SIZES, 1000]) {
    it(`rounds each value to one of its two f16 neighbours, exact where representable, n=${n}`, async () => {
      const r = rng();
      // Magnitudes from 1e-4 to 1e4: f16's normal range, where rounding is relative.
      const values = Float32Array.from({ length: n }, () => r.normal() * 10 ** (r.uniform() * 8 - 4));
      const x = tf.tensor1d(values);
      const packed = castToHalf(x);
      expect(packed.dtype).toBe('int32');
      expect(packed.shape).toEqual([Math.ceil(n / 2)]);
      const got = unpackHalves(await packed.data(), n);
      for (let i = 0; i < n; i++) {
        const [lo, hi] = halfNeighbours(values[i]);
        expect(
          got[i] === lo || got[i] === hi,
          `seed ${r.seed} element ${i}: ${values[i]} → ${got[i]}, not ${lo} or ${hi}`,
        ).toBe(true);
      }
      // Values that are f16 already come through exactly.
      const exact = values.map(roundToHalf);
      const xExact = tf.tensor1d(exact);
      const packedExact = castToHalf(xExact);
      expect(Array.from(unpackHalves(await packedExact.data(), n))).toEqual(Array.from(exact));
      if (n % 2 === 1) expect((await packed.data())[(n - 1) / 2] >>> 16).toBe(0); // the unused high half
      tf.dispose([x, packed, xExact, packedExact]);
    });
  }

  it('overflow becomes ±inf, infinities stay, NaN stays NaN (loss scaling relies on it)', async () => {
    const values = [65504, 65519, 65520, -70000, 1e30, -Infinity, Infinity, NaN, -3.5];
    const x = tf.tensor1d(values);
    const packed = castToHalf(x);
    const got = unpackHalves(await packed.data(), values.length);
    expect(Array.from(got.slice(0, 7))).toEqual([65504, 65504, Infinity, -Infinity, Infinity, -Infinity, Infinity]);
    expect(Number.isNaN(got[7])).toBe(true);
    expect(got[8]).toBe(-3.5);
    tf.dispose([x, packed]);
  });
});
