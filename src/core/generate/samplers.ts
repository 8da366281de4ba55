// Choosing the next token from one row of processed scores.
import { Random } from '../util/random.ts';
import { softmax } from './processors.ts';

export interface Sampler {
  readonly name: string;
  /** the chosen token id for one row of scores */
  choose(scores: Float64Array): number;
}

/** argmax; the lowest id wins a tie, as torch.argmax does. */
export function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

export const greedySampler: Sampler = { name: 'greedy', choose: argmax };

/** Draws from softmax(scores) with a seeded generator: one uniform number per draw, so a seed fixes the whole
 * run (the rows of a batch are drawn in order, sequence 0 first). */
export function multinomialSampler(rng: Random): Sampler {
  return {
    name: 'multinomial',
    choose(scores) {
      const probs = softmax(scores);
      const u = rng.next();
      let cumulative = 0;
      let last = -1;
      for (let i = 0; i < probs.length; i++) {
        if (probs[i] === 0) continue;
        cumulative += probs[i];
        last = i;
        if (u < cumulative) return i;
      }
      // u landed in the rounding gap above the float64 sum: the last token that has any probability.
      return last;
    },
  };
}
