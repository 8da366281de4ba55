// Beam search on a scripted language model (logits a fixed function of the tokens so far, no GPU), against a plain
// reference written the way Hugging Face's BeamSearchScorer reads: every step, every beam's every continuation
// scored, sorted, the first num_beams non-ending ones kept; an ending one among the first num_beams closes a
// hypothesis; hypotheses kept in a list sorted by score.
import { describe, expect, it } from 'vitest';
import { drain, generateWith } from '../../src/core/generate/generate.ts';
import type { CausalDecoder } from '../../src/core/generate/decoder.ts';
import type { GenerationOptions } from '../../src/core/generate/options.ts';

const V = 12;
const EOS = 11;
const tokenizer = {
  eosTokenId: EOS,
  encode: (text: string) => [...text].map((c) => c.charCodeAt(0) - 97),
  decode: (ids: ArrayLike<number>) =>
    Array.from(ids)
      .filter((i) => i !== EOS)
      .map((i) => String.fromCharCode(97 + i))
      .join(''),
};

/** A deterministic "model": logits from a hash of the whole history, with end-of-text likelier as it grows. */
function scriptedLogits(history: number[], salt: number): Float32Array {
  const out = new Float32Array(V);
  let h = 2166136261 ^ salt;
  for (const t of history) h = Math.imul(h ^ (t + 1), 16777619);
  for (let v = 0; v < V; v++) {
    h = Math.imul(h ^ (v + 7), 16777619);
    out[v] = ((h >>> 8) / 2 ** 24) * 4;
  }
  out[EOS] += history.length * 0.15 - 1.5;
  return out;
}

class ScriptedDecoder implements CausalDecoder {
  readonly vocabSize = V;
  rows: number[][] = [];
  reorders = 0;
  constructor(
    readonly maxPositions: number,
    private readonly salt: number,
  ) {}
  get length() {
    return this.rows[0]?.length ?? 0;
  }
  private logits() {
    const out = new Float32Array(this.rows.length * V);
    this.rows.forEach((r, b) => out.set(scriptedLogits(r, this.salt), b * V));
    return out;
  }
  async prefill(tokens: Int32Array, B: number, T: number) {
    this.rows = Array.from({ length: B }, (_, b) => Array.from(tokens.subarray(b * T, (b + 1) * T)));
    return this.logits();
  }
  async step(tokens: Int32Array) {
    if (this.length >= this.maxPositions) throw new Error('step beyond n_positions');
    this.rows.forEach((r, b) => r.push(tokens[b]));
    return this.logits();
  }
  reorder(rows: Int32Array) {
    this.reorders++;
    this.rows = Array.from(rows, (r) => this.rows[r].slice());
  }
  dispose() {}
}

interface RefOptions {
  numBeams: number;
  maxNew: number;
  lengthPenalty: number;
  earlyStopping: boolean | 'never';
  noRepeat: number;
}

/** The plain reference: HF's beam search for one prompt, written out step by step. */
function referenceBeams(prompt: number[], salt: number, o: RefOptions): { tokens: number[]; score: number }[] {
  const hyps: { tokens: number[]; score: number }[] = [];
  const lp = (len: number) => len ** o.lengthPenalty;
  const worst = () => Math.min(...hyps.map((h) => h.score));
  const addHyp = (tokens: number[], sum: number, len: number) => {
    const score = sum / lp(len);
    if (hyps.length < o.numBeams || score > worst()) {
      hyps.push({ tokens, score });
      hyps.sort((a, b) => b.score - a.score);
      if (hyps.length > o.numBeams) hyps.pop();
    }
  };
  let beams = [{ tokens: [] as number[], score: 0 }];
  for (let b = 1; b < o.numBeams; b++) beams.push({ tokens: [], score: -1e9 });
  for (;;) {
    const len = beams[0].tokens.length;
    const all: { beam: number; token: number; score: number }[] = [];
    beams.forEach((beam, i) => {
      const history = [...prompt, ...beam.tokens];
      const logits = Array.from(scriptedLogits(history, salt), Number);
      const m = Math.max(...logits);
      const lse = m + Math.log(logits.reduce((s, x) => s + Math.exp(x - m), 0));
      const logp = logits.map((x) => x - lse);
      if (o.noRepeat > 0 && history.length + 1 >= o.noRepeat) {
        const tail = history.slice(history.length - o.noRepeat + 1).join(',');
        for (let s = 0; s + o.noRepeat <= history.length; s++) {
          if (history.slice(s, s + o.noRepeat - 1).join(',') === tail) logp[history[s + o.noRepeat - 1]] = -Infinity;
        }
      }
      logp.forEach((x, token) => all.push({ beam: i, token, score: x + beam.score }));
    });
    all.sort((a, b) => b.score - a.score || a.beam - b.beam || a.token - b.token);
    const candidates = all.slice(0, 2 * o.numBeams);
    const next: typeof beams = [];
    for (let rank = 0; rank < candidates.length && next.length < o.numBeams; rank++) {
      const c = candidates[rank];
      if (c.token === EOS) {
        if (rank < o.numBeams) addHyp([...beams[c.beam].tokens, EOS], c.score, len);
      } else next.push({ tokens: [...beams[c.beam].tokens, c.token], score: c.score });
    }
    let done = false;
    if (hyps.length >= o.numBeams) {
      if (o.earlyStopping === true) done = true;
      else {
        const at = o.earlyStopping === 'never' && o.lengthPenalty > 0 ? o.maxNew : len;
        done = worst() >= candidates[0].score / lp(at);
      }
    }
    beams = next;
    if (done) return hyps;
    if (beams[0].tokens.length >= o.maxNew) {
      for (const b of beams) addHyp(b.tokens, b.score, b.tokens.length);
      return hyps;
    }
  }
}

async function runBeams(prompt: string, salt: number, options: GenerationOptions, maxPositions = 64) {
  const decoder = new ScriptedDecoder(maxPositions, salt);
  const out = await drain(generateWith(decoder, tokenizer, prompt, options));
  return { out, decoder };
}

describe('beam search', () => {
  const cases: [string, RefOptions][] = [
    ['4 beams', { numBeams: 4, maxNew: 12, lengthPenalty: 1, earlyStopping: false, noRepeat: 0 }],
    ['3 beams, early_stopping', { numBeams: 3, maxNew: 15, lengthPenalty: 1, earlyStopping: true, noRepeat: 0 }],
    [
      '5 beams, "never", length_penalty 2',
      { numBeams: 5, maxNew: 10, lengthPenalty: 2, earlyStopping: 'never', noRepeat: 0 },
    ],
    [
      '2 beams, length_penalty -0.5',
      { numBeams: 2, maxNew: 9, lengthPenalty: -0.5, earlyStopping: false, noRepeat: 0 },
    ],
    [
      '4 beams, no_repeat_ngram_size 2',
      { numBeams: 4, maxNew: 14, lengthPenalty: 1, earlyStopping: false, noRepeat: 2 },
    ],
  ];
  for (const [name, o] of cases) {
    it(`gives the reference's sequences and scores: ${name}`, async () => {
      for (const salt of [1, 2, 3, 4, 5, 6]) {
        const prompt = 'abc'.slice(0, 1 + (salt % 3));
        const want = referenceBeams(tokenizer.encode(prompt), salt, o);
        const { out, decoder } = await runBeams(prompt, salt, {
          num_beams: o.numBeams,
          num_return_sequences: o.numBeams,
          max_new_tokens: o.maxNew,
          length_penalty: o.lengthPenalty,
          early_stopping: o.earlyStopping,
          no_repeat_ngram_size: o.noRepeat,
        });
        expect(out.sequences.map((s) => s.tokens)).toEqual(want.map((h) => h.tokens));
        out.sequences.forEach((s, i) => expect(s.score).toBeCloseTo(want[i].score, 5));
        expect(decoder.reorders).toBeGreaterThan(0);
        for (const s of out.sequences) {
          expect(s.finishReason).toBe(s.tokens.at(-1) === EOS ? 'eos' : 'length');
          expect(s.text).toBe(tokenizer.decode(s.tokens));
        }
      }
    });
  }

  it('returns the best num_return_sequences, and refuses more than num_beams, sampling and stop_strings', async () => {
    const all = await runBeams('ab', 9, { num_beams: 4, num_return_sequences: 4, max_new_tokens: 8 });
    const two = await runBeams('ab', 9, { num_beams: 4, num_return_sequences: 2, max_new_tokens: 8 });
    expect(two.out.sequences.map((s) => s.tokens)).toEqual(all.out.sequences.slice(0, 2).map((s) => s.tokens));
    await expect(runBeams('ab', 9, { num_beams: 2, num_return_sequences: 3 })).rejects.toThrow(
      /num_return_sequences \(3\) has to be smaller or equal to num_beams \(2\)/,
    );
    await expect(runBeams('ab', 9, { num_beams: 2, do_sample: true })).rejects.toThrow(/beam sampling/);
    await expect(runBeams('ab', 9, { num_beams: 2, stop_strings: 'x' })).rejects.toThrow(/stop_strings/);
  });

  it('stops at n_positions', async () => {
    const { out } = await runBeams('abc', 3, { num_beams: 3, max_new_tokens: 50, eos_token_id: null }, 9);
    for (const s of out.sequences) expect(s.tokens.length).toBe(6);
  });
});
