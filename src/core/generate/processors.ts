// Logits processors with Hugging Face's semantics, one row (V scores of one sequence) at a time, in place.
//
// They run on the CPU over the last position's logits, read back from the GPU (V floats per sequence per step):
// at GPT-2's 50k vocabulary that is 200 KB a step, small beside the step itself, and the step has to come back
// to the CPU anyway to feed the chosen token to the next one. Scores are float64 so sorting and summing are exact
// enough that ties and cut-offs land where HF's float32 torch code puts them for every realistic input.

/** Removed tokens get −∞, as HF's filter_value; softmax then gives them probability 0. */
export const FILTERED = -Infinity;

export interface LogitsProcessor {
  readonly name: string;
  /** scores: one sequence's V logits, changed in place; history: that sequence's tokens so far (prompt first) */
  process(scores: Float64Array, history: ArrayLike<number>): void;
}

/** CTRL's penalty (HF RepetitionPenaltyLogitsProcessor): each distinct token already present has its score
 * divided by the penalty when positive and multiplied by it when negative, once however often it occurs. */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  return {
    name: `repetition_penalty(${penalty})`,
    process(scores, history) {
      const seen = new Set<number>();
      for (let i = 0; i < history.length; i++) {
        const id = history[i];
        if (seen.has(id) || id < 0 || id >= scores.length) continue;
        seen.add(id);
        const s = scores[id];
        scores[id] = s < 0 ? s * penalty : s / penalty;
      }
    },
  };
}

/** HF NoRepeatNGramLogitsProcessor: a token that would complete an n-gram already in the history is removed. */
export function noRepeatNgram(n: number): LogitsProcessor {
  return {
    name: `no_repeat_ngram_size(${n})`,
    process(scores, history) {
      const len = history.length;
      if (len + 1 < n) return;
      // the n − 1 tokens the next one would follow, compared with every earlier n-gram's first n − 1
      const start = len - n + 1;
      for (let i = 0; i + n <= len; i++) {
        let same = true;
        for (let j = 0; j < n - 1 && same; j++) same = history[i + j] === history[start + j];
        const banned = history[i + n - 1];
        if (same && banned >= 0 && banned < scores.length) scores[banned] = FILTERED;
      }
    },
  };
}

/** HF TemperatureLogitsWarper: scores / temperature. */
export function temperature(t: number): LogitsProcessor {
  return {
    name: `temperature(${t})`,
    process(scores) {
      for (let i = 0; i < scores.length; i++) scores[i] /= t;
    },
  };
}

/** The k-th largest value (1-based) of a row, by a partial selection rather than a full sort. */
export function kthLargest(scores: Float64Array, k: number): number {
  const a = Float64Array.from(scores);
  // Quickselect for index k−1 in descending order.
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

/** HF TopKLogitsWarper: removes every token scoring below the k-th largest score (ties with it stay). */
export function topK(k: number, minTokensToKeep = 1): LogitsProcessor {
  return {
    name: `top_k(${k})`,
    process(scores) {
      const keep = Math.min(Math.max(k, minTokensToKeep), scores.length);
      const threshold = kthLargest(scores, keep);
      for (let i = 0; i < scores.length; i++) if (scores[i] < threshold) scores[i] = FILTERED;
    },
  };
}

/**
 * HF TopPLogitsWarper: sorts ascending, and removes the tokens whose cumulative probability (from the least
 * likely up) is at most 1 − top_p, always keeping the min_tokens_to_keep most likely. What stays is the smallest
 * set of most likely tokens whose probability reaches top_p.
 */
export function topP(p: number, minTokensToKeep = 1): LogitsProcessor {
  return {
    name: `top_p(${p})`,
    process(scores) {
      // Tokens already filtered (−∞, e.g. by top_k) have probability 0 and would be removed here anyway, so
      // only the rest are sorted: after top_k = 50 that is 50 ids rather than a 50k vocabulary.
      const order: number[] = [];
      for (let i = 0; i < scores.length; i++) if (scores[i] !== FILTERED) order.push(i);
      // Stable on ties (lower id first), so the cut is deterministic.
      order.sort((a, b) => scores[a] - scores[b] || a - b);
      const probs = softmax(scores);
      let cumulative = 0;
      const limit = order.length - minTokensToKeep;
      for (let r = 0; r < limit; r++) {
        const id = order[r];
        cumulative += probs[id];
        if (cumulative <= 1 - p) scores[id] = FILTERED;
        else break;
      }
    },
  };
}

/** softmax in float64; −∞ entries get 0. */
export function softmax(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  const out = new Float64Array(scores.length);
  if (max === -Infinity) throw new Error('softmax: every token was filtered out');
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += out[i] = Math.exp(scores[i] - max);
  for (let i = 0; i < scores.length; i++) out[i] /= sum;
  return out;
}

/**
 * The processors HF's generate() builds for these settings, in its order: repetition penalty and no-repeat n-grams
 * (greedy, beams or sampling), then, only when sampling, temperature, top_k, top_p. Neutral values add nothing.
 */
export function processorsFor(o: {
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  noRepeatNgramSize: number;
}): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (o.repetitionPenalty !== 1) list.push(repetitionPenalty(o.repetitionPenalty));
  if (o.noRepeatNgramSize > 0) list.push(noRepeatNgram(o.noRepeatNgramSize));
  if (o.doSample) {
    if (o.temperature !== 1) list.push(temperature(o.temperature));
    if (o.topK !== 0) list.push(topK(o.topK));
    if (o.topP < 1) list.push(topP(o.topP));
  }
  return list;
}
