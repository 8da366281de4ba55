// Stopping criteria, per sequence: length, an end-of-text token, a stop string in the generated text.

export type FinishReason = 'length' | 'eos' | 'stop_string' | 'aborted';

/** What a criterion sees of one sequence after each new token. */
export interface SequenceState {
  /** tokens generated so far (the prompt excluded) */
  newTokens: number;
  lastToken: number;
  /** the generated text so far, as far as complete characters go */
  text: string;
  /** length of `text` before this step's piece was added */
  previousTextLength: number;
}

export interface StoppingCriterion {
  readonly reason: FinishReason;
  /** true when the sequence is finished after this token */
  done(s: SequenceState): boolean;
}

/** HF's max_length / max_new_tokens, counted in generated tokens. */
export function maxNewTokens(n: number): StoppingCriterion {
  return { reason: 'length', done: (s) => s.newTokens >= n };
}

export function eosToken(ids: readonly number[]): StoppingCriterion {
  const set = new Set(ids);
  return { reason: 'eos', done: (s) => set.has(s.lastToken) };
}

/**
 * Finishes a sequence once its generated text contains a stop string. Only the part that the new piece could
 * have completed is searched, so a long generation does not rescan its whole text each step. As in HF, the
 * tokens that spell the stop string stay in the output.
 */
export function stopStrings(strings: readonly string[]): StoppingCriterion {
  const longest = Math.max(0, ...strings.map((s) => s.length));
  return {
    reason: 'stop_string',
    done(s) {
      if (s.text.length === s.previousTextLength) return false;
      const from = Math.max(0, s.previousTextLength - longest + 1);
      const tail = s.text.slice(from);
      return strings.some((x) => tail.includes(x));
    },
  };
}

/** The first criterion that holds, in the order given (eos before length, so a last-token eos says 'eos'). */
export function firstReason(criteria: readonly StoppingCriterion[], s: SequenceState): FinishReason | null {
  for (const c of criteria) if (c.done(s)) return c.reason;
  return null;
}
