import { describe, it, expect } from 'vitest';
import { Random } from '../../src/core/util/random.ts';
import {
  repetitionPenalty,
  temperature,
  topK,
  topP,
  kthLargest,
  softmax,
  noRepeatNgram,
  processorsFor,
  FILTERED,
} from '../../src/core/generate/processors.ts';
import { argmax, greedySampler, multinomialSampler } from '../../src/core/generate/samplers.ts';
import { maxNewTokens, eosToken, stopStrings, firstReason } from '../../src/core/generate/stopping.ts';
import { resolveOptions } from '../../src/core/generate/options.ts';

const row = (...xs: number[]) => Float64Array.from(xs);
const kept = (scores: Float64Array) => [...scores.keys()].filter((i) => scores[i] !== FILTERED);

/** Pearson's chi-square critical values at p = 0.001, by degrees of freedom. */
const CHI2_999 = [NaN, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59];

function chiSquare(counts: number[], expected: number[], n: number): { stat: number; df: number } {
  let stat = 0;
  let df = -1;
  counts.forEach((c, i) => {
    if (expected[i] === 0) {
      if (c !== 0) stat = Infinity; // a filtered token was drawn
      return;
    }
    const e = expected[i] * n;
    stat += ((c - e) * (c - e)) / e;
    df++;
  });
  return { stat, df };
}

/** Plain re-derivations of what each setting should sample, independent of the processors' code. */
function expectedDistribution(logits: number[], o: { temperature?: number; topK?: number; topP?: number }): number[] {
  const t = o.temperature ?? 1;
  const z = logits.map((x) => Math.exp(x / t));
  const sum = z.reduce((a, b) => a + b, 0);
  let p = z.map((x) => x / sum);
  const rank = [...p.keys()].sort((a, b) => p[b] - p[a]);
  let keep = new Set(rank);
  if (o.topK) keep = new Set(rank.slice(0, o.topK));
  if (o.topP !== undefined) {
    // smallest set of most likely (within top-k) whose mass, renormalised, reaches top_p
    const ranked = rank.filter((i) => keep.has(i));
    const mass = ranked.reduce((a, i) => a + p[i], 0);
    const chosen = new Set<number>();
    let acc = 0;
    for (const i of ranked) {
      chosen.add(i);
      acc += p[i] / mass;
      if (acc >= o.topP) break;
    }
    keep = chosen;
  }
  p = p.map((x, i) => (keep.has(i) ? x : 0));
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / s);
}

function drawCounts(
  logits: number[],
  o: { doSample: boolean; temperature: number; topK: number; topP: number },
  n: number,
  seed: number,
): number[] {
  const procs = processorsFor({ ...o, repetitionPenalty: 1, noRepeatNgramSize: 0 });
  const sampler = multinomialSampler(new Random(seed));
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) {
    const s = Float64Array.from(logits);
    for (const p of procs) p.process(s, []);
    counts[sampler.choose(s)]++;
  }
  return counts;
}

describe('logits processors (Hugging Face semantics)', () => {
  it('repetition penalty divides positive and multiplies negative scores, once per distinct token', () => {
    const s = row(2, -2, 1, 0.5);
    repetitionPenalty(2).process(s, [0, 1, 1, 0, 3]);
    expect([...s]).toEqual([1, -4, 1, 0.25]);
  });

  it('temperature divides every score', () => {
    const s = row(1, -2, 0.5);
    temperature(0.5).process(s, []);
    expect([...s]).toEqual([2, -4, 1]);
  });

  it('top_k keeps the k best, and every token tied with the k-th', () => {
    const s = row(1, 5, 3, 3, -1, 4);
    topK(3).process(s, []);
    expect(kept(s)).toEqual([1, 2, 3, 5]);
    const all = row(1, 2);
    topK(10).process(all, []);
    expect(kept(all)).toEqual([0, 1]);
    const one = row(0.1, 0.3, 0.2);
    topK(1).process(one, []);
    expect(kept(one)).toEqual([1]);
  });

  it('kthLargest agrees with a full sort on random rows with ties and −∞', () => {
    const r = new Random(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + r.int(300);
      const a = new Float64Array(n).map(() => (r.next() < 0.1 ? -Infinity : Math.round(r.normal() * 4) / 2 + 0));
      const sorted = Array.from(a).sort((x, y) => y - x);
      const k = 1 + r.int(n);
      expect(kthLargest(a, k)).toBe(sorted[k - 1]);
    }
  });

  it('top_p keeps the smallest set of most likely tokens reaching p, at least one', () => {
    const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
    const cut = (p: number) => {
      const s = Float64Array.from(logits);
      topP(p).process(s, []);
      return kept(s);
    };
    expect(cut(0.75)).toEqual([0, 1]);
    expect(cut(0.9)).toEqual([0, 1, 2]);
    expect(cut(0.99)).toEqual([0, 1, 2, 3]);
    expect(cut(0.4)).toEqual([0]);
    expect(cut(0)).toEqual([0]);
  });

  it('builds HF’s list in HF’s order, warpers only when sampling', () => {
    const o = { doSample: true, temperature: 0.7, topK: 50, topP: 0.9, repetitionPenalty: 1.2, noRepeatNgramSize: 3 };
    expect(processorsFor(o).map((p) => p.name)).toEqual([
      'repetition_penalty(1.2)',
      'no_repeat_ngram_size(3)',
      'temperature(0.7)',
      'top_k(50)',
      'top_p(0.9)',
    ]);
    expect(processorsFor({ ...o, doSample: false }).map((p) => p.name)).toEqual([
      'repetition_penalty(1.2)',
      'no_repeat_ngram_size(3)',
    ]);
    const neutral = { doSample: true, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0 };
    expect(processorsFor(neutral)).toEqual([]);
  });

  it('no_repeat_ngram_size removes the tokens that would repeat an n-gram, as HF', () => {
    const scores = () => new Float64Array(6);
    const banned = (n: number, history: number[]) => {
      const s = scores();
      noRepeatNgram(n).process(s, history);
      return [...s.keys()].filter((i) => s[i] === FILTERED);
    };
    expect(banned(2, [1, 2, 3, 1])).toEqual([2]); // (1, 2) was seen: after 1, not 2 again
    expect(banned(3, [1, 2, 3, 1, 2])).toEqual([3]);
    expect(banned(3, [1, 2])).toEqual([]); // too short to complete a 3-gram seen before
    expect(banned(1, [4, 0, 4])).toEqual([0, 4]);
    expect(banned(2, [5, 1, 5, 2, 5])).toEqual([1, 2]);
  });

  it('softmax gives filtered tokens probability 0', () => {
    const p = softmax(row(0, FILTERED, 0));
    expect([...p]).toEqual([0.5, 0, 0.5]);
  });
});

describe('samplers', () => {
  it('greedy takes the argmax, the lowest id on a tie', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(greedySampler.choose(row(-1, -0.5, FILTERED))).toBe(1);
  });

  it('multinomial is reproducible from its seed and never draws a filtered token', () => {
    const draw = (seed: number) => {
      const s = multinomialSampler(new Random(seed));
      return Array.from({ length: 50 }, () => s.choose(row(0, 1, FILTERED, 0.5)));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
    expect(draw(3)).not.toContain(2);
  });

  // Known logits; 20 000 draws per setting; a fixed seed, so the test is deterministic.
  const LOGITS = [2, 1.2, 0.9, 0.3, -0.5, -1.5, -3];
  const N = 20_000;
  const settings = [
    { name: 'plain softmax', temperature: 1, topK: 0, topP: 1 },
    { name: 'temperature 0.7', temperature: 0.7, topK: 0, topP: 1 },
    { name: 'temperature 1.8', temperature: 1.8, topK: 0, topP: 1 },
    { name: 'top_k 3', temperature: 1, topK: 3, topP: 1 },
    { name: 'top_p 0.8', temperature: 1, topK: 0, topP: 0.8 },
    { name: 'temperature 0.7, top_k 5, top_p 0.9', temperature: 0.7, topK: 5, topP: 0.9 },
  ];
  for (const [i, s] of settings.entries()) {
    it(`chi-square: ${s.name} samples the distribution it should`, () => {
      const counts = drawCounts(LOGITS, { doSample: true, ...s }, N, 1000 + i);
      const expected = expectedDistribution(LOGITS, {
        temperature: s.temperature,
        topK: s.topK || undefined,
        topP: s.topP < 1 ? s.topP : undefined,
      });
      const { stat, df } = chiSquare(counts, expected, N);
      expect(stat, `counts ${counts}, expected ${expected.map((p) => (p * N).toFixed(0))}`).toBeLessThan(CHI2_999[df]);
    });
  }

  it('chi-square has power: temperature 0.7 draws are rejected as plain softmax', () => {
    const counts = drawCounts(LOGITS, { doSample: true, temperature: 0.7, topK: 0, topP: 1 }, N, 99);
    const { stat, df } = chiSquare(counts, expectedDistribution(LOGITS, {}), N);
    expect(stat).toBeGreaterThan(CHI2_999[df]);
  });
});

describe('stopping criteria', () => {
  const state = (o: Partial<{ newTokens: number; lastToken: number; text: string; previousTextLength: number }>) => ({
    newTokens: 1,
    lastToken: 0,
    text: '',
    previousTextLength: 0,
    ...o,
  });

  it('length, eos, and eos before length', () => {
    expect(maxNewTokens(3).done(state({ newTokens: 2 }))).toBe(false);
    expect(maxNewTokens(3).done(state({ newTokens: 3 }))).toBe(true);
    expect(eosToken([7, 9]).done(state({ lastToken: 9 }))).toBe(true);
    expect(firstReason([eosToken([9]), maxNewTokens(3)], state({ newTokens: 3, lastToken: 9 }))).toBe('eos');
    expect(firstReason([eosToken([9]), maxNewTokens(3)], state({ newTokens: 3, lastToken: 1 }))).toBe('length');
  });

  it('a stop string is found when the last piece completes it, even across pieces', () => {
    const c = stopStrings(['\n\n', 'END']);
    expect(c.done(state({ text: 'abc\n', previousTextLength: 3 }))).toBe(false);
    expect(c.done(state({ text: 'abc\n\n', previousTextLength: 4 }))).toBe(true);
    expect(c.done(state({ text: 'xxEN', previousTextLength: 2 }))).toBe(false);
    expect(c.done(state({ text: 'xxEND and more', previousTextLength: 4 }))).toBe(true);
    expect(c.done(state({ text: 'END', previousTextLength: 3 }))).toBe(false); // nothing new this step
  });
});

describe('options', () => {
  it('HF defaults: max_length 20, greedy, top_k 50; max_new_tokens wins over max_length', () => {
    const o = resolveOptions({}, 5, 50256, 1024);
    expect(o).toMatchObject({
      maxNewTokens: 15,
      doSample: false,
      topK: 50,
      topP: 1,
      temperature: 1,
      eosTokenIds: [50256],
      useCache: true,
    });
    expect(resolveOptions({ max_length: 50, max_new_tokens: 4 }, 5, null, 1024).maxNewTokens).toBe(4);
    expect(resolveOptions({ max_length: 3 }, 5, null, 1024).maxNewTokens).toBe(0);
    expect(resolveOptions({ seed: 5 }, 1, null, 8).ignored).toEqual(['seed']);
    expect(resolveOptions({ eos_token_id: null }, 1, 3, 8).eosTokenIds).toEqual([]);
  });

  it('refuses what HF refuses, naming the option', () => {
    expect(() => resolveOptions({ do_sample: true, temperature: 0 }, 1, null, 8)).toThrow(/temperature/);
    expect(() => resolveOptions({ top_p: 1.5 }, 1, null, 8)).toThrow(/top_p/);
    expect(() => resolveOptions({ top_k: -1 }, 1, null, 8)).toThrow(/top_k/);
    expect(() => resolveOptions({ repetition_penalty: 0 }, 1, null, 8)).toThrow(/repetition_penalty/);
    expect(() => resolveOptions({ num_return_sequences: 3 }, 1, null, 8)).toThrow(/do_sample/);
    expect(() => resolveOptions({ max_new_tokens: 1.5 }, 1, null, 8)).toThrow(/max_new_tokens/);
    expect(() => resolveOptions({ window_stride: 8 }, 1, null, 8)).toThrow(/window_stride/);
  });
});
