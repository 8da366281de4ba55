// Generation options under Hugging Face's GenerationConfig names, their defaults, and the checks HF makes.

export interface GenerationOptions {
  /** total length, prompt included (HF default 20); ignored when max_new_tokens is set */
  max_length?: number;
  /** tokens to generate after the prompt; wins over max_length, as in HF */
  max_new_tokens?: number;
  /** false: greedy (argmax); true: multinomial sampling after temperature, top_k and top_p */
  do_sample?: boolean;
  temperature?: number;
  /** keep the k most likely tokens; 0 turns it off (HF default 50, used only when sampling) */
  top_k?: number;
  /** keep the smallest set of most likely tokens whose probability reaches top_p; 1 turns it off */
  top_p?: number;
  /** CTRL's penalty on every token already in the sequence (prompt included); 1 turns it off */
  repetition_penalty?: number;
  /** sequences generated for the one prompt, run as one batch; needs do_sample, or at most num_beams beams */
  num_return_sequences?: number;
  /** beam search over this many beams when > 1 (HF default 1: greedy or sampling) */
  num_beams?: number;
  /** beam search: a finished sequence's score is its summed log-probability / generated length ** length_penalty */
  length_penalty?: number;
  /** beam search: true stops once num_beams sequences are done; false (HF's default) stops when no running beam can
   * beat them (judged at the current length); "never" judges at the longest length a beam may reach */
  early_stopping?: boolean | 'never';
  /** no n-gram of this size occurs twice in a sequence (the prompt included); 0 turns it off */
  no_repeat_ngram_size?: number;
  /** seeds the sampler; without it a seed is drawn and reported in the output's metadata */
  seed?: number;
  /** overrides the tokenizer's end-of-text id; null: never stop on a token */
  eos_token_id?: number | number[] | null;
  /** stop a sequence once its generated text contains one of these */
  stop_strings?: string | string[];
  /** false: every step runs the model over the whole prefix, without the KV cache (for comparison) */
  use_cache?: boolean;
  /**
   * How far the window moves when the context fills n_positions. 1 recomputes the cache over the last n_positions
   * tokens before every further token: exactly what a full forward over the cropped context gives, at the cost of
   * one full pass per token. A larger stride keeps n_positions − stride + 1 tokens and then runs stride − 1 cheap
   * cached steps before the next recompute. Not a Hugging Face option (HF's GPT-2 stops at n_positions).
   */
  window_stride?: number;
}

export interface ResolvedOptions {
  maxNewTokens: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  numReturnSequences: number;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: boolean | 'never';
  noRepeatNgramSize: number;
  seed: number;
  seedGiven: boolean;
  eosTokenIds: number[];
  stopStrings: string[];
  useCache: boolean;
  windowStride: number;
  /** options that were set but have no effect (HF warns about the same ones) */
  ignored: string[];
}

/** The tokenizer's end-of-text id, or every id that ends generation. */
export type TokenizerEos = number | readonly number[] | null;

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

/** The ids that end a sequence: the option's (null: none), else the tokenizer's (all of generation_config's). */
export function eosTokenIds(option: GenerationOptions['eos_token_id'], tokenizerEos: TokenizerEos): number[] {
  if (option === null) return [];
  if (option === undefined)
    return tokenizerEos === null ? [] : typeof tokenizerEos === 'number' ? [tokenizerEos] : [...tokenizerEos];
  return Array.isArray(option) ? option : [option];
}

/** Fills HF's defaults and throws on values HF refuses, with the option's name in the message. */
export function resolveOptions(
  o: GenerationOptions,
  promptLength: number,
  tokenizerEos: TokenizerEos,
  maxPositions: number,
): ResolvedOptions {
  const fail = (name: string, want: string, got: unknown) => {
    throw new Error(`generate: ${name} ${want}, got ${JSON.stringify(got)}`);
  };
  let maxNewTokens: number;
  if (o.max_new_tokens !== undefined) {
    if (!isInt(o.max_new_tokens) || o.max_new_tokens < 0)
      fail('max_new_tokens', 'must be an integer ≥ 0', o.max_new_tokens);
    maxNewTokens = o.max_new_tokens!;
  } else {
    const maxLength = o.max_length ?? 20;
    if (!isInt(maxLength) || maxLength < 1) fail('max_length', 'must be a positive integer', maxLength);
    maxNewTokens = Math.max(0, maxLength - promptLength);
  }
  const doSample = o.do_sample ?? false;
  const temperature = o.temperature ?? 1;
  const topK = o.top_k ?? 50;
  const topP = o.top_p ?? 1;
  const repetitionPenalty = o.repetition_penalty ?? 1;
  const numReturnSequences = o.num_return_sequences ?? 1;
  if (typeof doSample !== 'boolean') fail('do_sample', 'must be true or false', doSample);
  if (!(typeof temperature === 'number' && temperature > 0 && Number.isFinite(temperature))) {
    fail('temperature', 'has to be a strictly positive float', temperature);
  }
  if (!isInt(topK) || topK < 0) fail('top_k', 'has to be an integer ≥ 0 (0 turns it off)', topK);
  if (!(typeof topP === 'number' && topP >= 0 && topP <= 1)) fail('top_p', 'has to be a float in [0, 1]', topP);
  if (!(typeof repetitionPenalty === 'number' && repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))) {
    fail('repetition_penalty', 'has to be a strictly positive float', repetitionPenalty);
  }
  if (!isInt(numReturnSequences) || numReturnSequences < 1)
    fail('num_return_sequences', 'must be a positive integer', numReturnSequences);
  const numBeams = o.num_beams ?? 1;
  const lengthPenalty = o.length_penalty ?? 1;
  const earlyStopping = o.early_stopping ?? false;
  const noRepeatNgramSize = o.no_repeat_ngram_size ?? 0;
  if (!isInt(numBeams) || numBeams < 1) fail('num_beams', 'must be a positive integer', numBeams);
  if (!(typeof lengthPenalty === 'number' && Number.isFinite(lengthPenalty)))
    fail('length_penalty', 'must be a number', lengthPenalty);
  if (earlyStopping !== true && earlyStopping !== false && earlyStopping !== 'never')
    fail('early_stopping', 'must be true, false or "never"', earlyStopping);
  if (!isInt(noRepeatNgramSize) || noRepeatNgramSize < 0)
    fail('no_repeat_ngram_size', 'must be an integer ≥ 0 (0 turns it off)', noRepeatNgramSize);
  if (numBeams > 1 && doSample) {
    throw new Error(
      'generate: beam sampling (do_sample with num_beams > 1) is not supported; use do_sample: false for beam search',
    );
  }
  if (numBeams > 1 && numReturnSequences > numBeams) {
    throw new Error(
      `generate: num_return_sequences (${numReturnSequences}) has to be smaller or equal to num_beams (${numBeams})`,
    );
  }
  if (!doSample && numBeams === 1 && numReturnSequences > 1) {
    throw new Error(
      `generate: greedy decoding (do_sample false) gives the same sequence every time, so num_return_sequences must be 1 (got ${numReturnSequences}); set do_sample: true to draw several, or num_beams to keep the best beams`,
    );
  }
  const seedGiven = o.seed !== undefined;
  if (seedGiven && !isInt(o.seed)) fail('seed', 'must be an integer', o.seed);
  const seed = seedGiven ? o.seed! >>> 0 : Math.floor(Math.random() * 0x100000000) >>> 0;

  const eos = eosTokenIds(o.eos_token_id, tokenizerEos);
  for (const id of eos) if (!isInt(id) || id < 0) fail('eos_token_id', 'must be a non-negative integer', id);

  const stopStrings =
    o.stop_strings === undefined ? [] : typeof o.stop_strings === 'string' ? [o.stop_strings] : o.stop_strings;
  for (const s of stopStrings)
    if (typeof s !== 'string' || s.length === 0) fail('stop_strings', 'must be non-empty strings', s);

  const windowStride = o.window_stride ?? 1;
  if (!isInt(windowStride) || windowStride < 1 || windowStride >= maxPositions) {
    fail('window_stride', `must be an integer in [1, n_positions − 1 = ${maxPositions - 1}]`, windowStride);
  }

  const ignored: string[] = [];
  if (numBeams === 1) {
    if (o.length_penalty !== undefined && o.length_penalty !== 1) ignored.push('length_penalty');
    if (o.early_stopping !== undefined && o.early_stopping !== false) ignored.push('early_stopping');
  }
  if (!doSample) {
    if (o.temperature !== undefined && o.temperature !== 1) ignored.push('temperature');
    if (o.top_k !== undefined && o.top_k !== 50) ignored.push('top_k');
    if (o.top_p !== undefined && o.top_p !== 1) ignored.push('top_p');
    if (seedGiven) ignored.push('seed');
  }
  return {
    maxNewTokens,
    doSample,
    temperature,
    topK,
    topP,
    repetitionPenalty,
    numReturnSequences,
    numBeams,
    lengthPenalty,
    earlyStopping,
    noRepeatNgramSize,
    seed,
    seedGiven,
    eosTokenIds: eos,
    stopStrings,
    useCache: o.use_cache ?? true,
    windowStride,
    ignored,
  };
}
