// The kernel tests' own harness: inputs drawn again from one environment variable, HEARTH_TEST_SEED.
import { describe, it, expect } from 'vitest';
import { parseRunSeed, rng, seedFor, RUN_SEED } from '../helpers.ts';

describe('test seeds', () => {
  it('takes the run seed from HEARTH_TEST_SEED, and refuses a value that is not a u32', () => {
    expect(parseRunSeed('0')).toBe(0);
    expect(parseRunSeed('4294967295')).toBe(4294967295);
    for (const bad of ['-1', '1.5', 'abc', '4294967296']) expect(() => parseRunSeed(bad)).toThrow(/HEARTH_TEST_SEED/);
    const fromClock = parseRunSeed(undefined);
    expect(Number.isInteger(fromClock) && fromClock >= 0 && fromClock <= 0xffffffff).toBe(true);
    if (process.env.HEARTH_TEST_SEED) expect(RUN_SEED).toBe(Number(process.env.HEARTH_TEST_SEED));
  });

  it("derives each test's seeds from the run seed, its name and its draws, so a rerun draws the same inputs", () => {
    expect(seedFor(7, 'a > b', 0)).toBe(seedFor(7, 'a > b', 0));
    const seeds = new Set([
      seedFor(7, 'a > b', 0),
      seedFor(7, 'a > b', 1),
      seedFor(7, 'a > c', 0),
      seedFor(8, 'a > b', 0),
    ]);
    expect(seeds.size).toBe(4);
    // rng() with no seed takes this test's next one: the first two draws here.
    const name = expect.getState().currentTestName!;
    expect([rng().seed, rng().seed]).toEqual([seedFor(RUN_SEED, name, 0), seedFor(RUN_SEED, name, 1)]);
    expect(Array.from(rng(5).normals(4))).toEqual(Array.from(rng(5).normals(4)));
  });
});
