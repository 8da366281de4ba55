// Beam search as Hugging Face's generate() runs it (num_beams > 1, do_sample false).
//
// The num_beams beams run as one batch. Each step every beam's next-token log-probabilities (log_softmax of the
// logits, then the logits processors, as HF applies them to log-probabilities), plus the beam's running score, are
// ranked together; of the best max(2, 1 + #eos)·num_beams candidates, an end-of-text one among the first num_beams
// closes a hypothesis (scored sum_logprobs / generated_length ** length_penalty, its end-of-text not counted),
// the others become the next beams until num_beams are found. Search ends when the hypotheses are done (per
// early_stopping) or at the length limit, where the running beams are scored too; the best num_return_sequences
// hypotheses are returned, best first.
import type { CausalDecoder } from './decoder.ts';
import type { LogitsProcessor } from './processors.ts';

export interface BeamSearchOptions {
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: boolean | 'never';
  maxNewTokens: number;
  eosTokenIds: number[];
  numReturnSequences: number;
  processors: LogitsProcessor[];
}

export interface BeamHypothesis {
  /** generated tokens, the end-of-text token included when the hypothesis ended on one */
  tokens: number[];
  /** HF's sequences_scores: summed log-probability over generated length ** length_penalty */
  score: number;
  endedOnEos: boolean;
}

/** HF's BeamHypotheses: the best num_beams finished hypotheses, and when no running beam can beat them. */
class Hypotheses {
  readonly list: BeamHypothesis[] = [];
  private worst = 1e9;

  constructor(
    private readonly o: BeamSearchOptions,
    private readonly maxNew: number,
  ) {}

  add(tokens: number[], sumLogprobs: number, generatedLength: number, endedOnEos: boolean): void {
    const score = sumLogprobs / generatedLength ** this.o.lengthPenalty;
    if (this.list.length < this.o.numBeams || score > this.worst) {
      this.list.push({ tokens, score, endedOnEos });
      if (this.list.length > this.o.numBeams) {
        const order = this.list.map((h, i) => [h.score, i]).sort((a, b) => a[0] - b[0]);
        this.list.splice(order[0][1], 1);
        this.worst = order[1][0];
      } else {
        this.worst = Math.min(score, this.worst);
      }
    }
  }

  /** Whether search can stop: bestRunning is the best candidate's summed log-probability this step. */
  isDone(bestRunning: number, generatedLength: number): boolean {
    if (this.list.length < this.o.numBeams) return false;
    if (this.o.earlyStopping === true) return true;
    const length = this.o.earlyStopping === 'never' && this.o.lengthPenalty > 0 ? this.maxNew : generatedLength;
    return this.worst >= bestRunning / length ** this.o.lengthPenalty;
  }
}

/** log_softmax of a float32 row, in float64. */
function logSoftmax(logits: Float32Array, offset: number, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < out.length; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += Math.exp(logits[offset + i] - max);
  const log = max + Math.log(sum);
  for (let i = 0; i < out.length; i++) out[i] = logits[offset + i] - log;
}

interface Candidate {
  score: number;
  beam: number;
  token: number;
}

/** The n best of (beam, token) by score, best first; ties go to the lower beam, then the lower token. */
function topCandidates(scores: Float64Array[], n: number): Candidate[] {
  const best: Candidate[] = [];
  scores.forEach((row, beam) => {
    for (let token = 0; token < row.length; token++) {
      const score = row[token];
      if (score === -Infinity || (best.length === n && score <= best[n - 1].score)) continue;
      let at = best.length;
      while (at > 0 && best[at - 1].score < score) at--;
      best.splice(at, 0, { score, beam, token });
      if (best.length > n) best.pop();
    }
  });
  return best;
}

/**
 * Runs beam search from one prompt on `decoder` (which it prefills with num_beams copies of the prompt). Returns
 * null when `signal` aborts.
 */
export async function beamSearch(
  decoder: CausalDecoder,
  prompt: number[],
  o: BeamSearchOptions,
  signal?: AbortSignal,
): Promise<BeamHypothesis[] | null> {
  const K = o.numBeams;
  const V = decoder.vocabSize;
  const maxNew = Math.min(o.maxNewTokens, decoder.maxPositions - prompt.length);
  if (maxNew < 1) {
    throw new Error(
      `generate: beam search needs room for a token after the prompt (${prompt.length} tokens) within n_positions ${decoder.maxPositions}`,
    );
  }
  const hyps = new Hypotheses(o, maxNew);
  let beams: number[][] = Array.from({ length: K }, () => []);
  let beamScores = Float64Array.from({ length: K }, (_, b) => (b === 0 ? 0 : -1e9)); // the copies start as one
  const tiled = new Int32Array(K * prompt.length);
  for (let b = 0; b < K; b++) tiled.set(prompt, b * prompt.length);
  let logits = await decoder.prefill(tiled, K, prompt.length);
  const keep = Math.max(2, 1 + o.eosTokenIds.length) * K;
  const rows = Array.from({ length: K }, () => new Float64Array(V));
  let done: boolean;
  for (;;) {
    if (signal?.aborted) return null;
    const generated = beams[0].length;
    for (let b = 0; b < K; b++) {
      logSoftmax(logits, b * V, rows[b]);
      const history = [...prompt, ...beams[b]];
      for (const p of o.processors) p.process(rows[b], history);
      for (let i = 0; i < V; i++) rows[b][i] += beamScores[b];
    }
    const candidates = topCandidates(rows, keep);
    const next: Candidate[] = [];
    for (let rank = 0; rank < candidates.length && next.length < K; rank++) {
      const c = candidates[rank];
      if (o.eosTokenIds.includes(c.token)) {
        if (rank < K) hyps.add([...beams[c.beam], c.token], c.score, generated, true);
      } else {
        next.push(c);
      }
    }
    if (next.length < K) throw new Error('generate: beam search ran out of candidates (every token was filtered out)');
    done = hyps.isDone(candidates[0].score, generated);
    beams = next.map((c) => [...beams[c.beam], c.token]);
    beamScores = Float64Array.from(next, (c) => c.score);
    if (done || beams[0].length >= maxNew) break;
    decoder.reorder(Int32Array.from(next, (c) => c.beam));
    logits = await decoder.step(Int32Array.from(next, (c) => c.token));
  }
  if (!done) for (let b = 0; b < K; b++) hyps.add(beams[b], beamScores[b], beams[b].length, false);
  return hyps.list
    .slice()
    .sort((a, b) => b.score - a.score)
    .slice(0, o.numReturnSequences);
}
