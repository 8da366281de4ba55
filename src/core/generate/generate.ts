// Text generation: a prompt, Hugging Face's options, tokens streamed out as they come.
//
// All num_return_sequences sequences run as one batch and advance together; a sequence that has finished keeps
// its row (fed an end-of-text token, as HF pads) until every row is done, but emits nothing more. Each step reads
// back only the last position's logits (V floats per sequence) and processes and samples them on the CPU.
import { Random } from '../util/random.ts';
import type { CausalLM } from '../model/causal_lm.ts';
import type { Ops } from '../model/ops.ts';
import { eosTokenIds, resolveOptions, type GenerationOptions, type ResolvedOptions } from './options.ts';
import { processorsFor } from './processors.ts';
import { greedySampler, multinomialSampler } from './samplers.ts';
import {
  eosToken,
  firstReason,
  maxNewTokens,
  stopStrings,
  type FinishReason,
  type StoppingCriterion,
} from './stopping.ts';
import { SequenceStreamer, type GenerationTokenizer } from './streamer.ts';
import { FullPrefixDecoder, type CausalDecoder } from './decoder.ts';
import { KVCacheDecoder } from './kv_cache.ts';
import { beamSearch } from './beam_search.ts';

/** One piece of one sequence's output. */
export interface TokenEvent {
  sequence: number;
  /** the new token, or null for the held-back text flushed when a sequence is cut off */
  token: number | null;
  /** the text this token completes ('' while a character's bytes are incomplete, and for end-of-text) */
  text: string;
  /** set on the sequence's last event */
  finished?: FinishReason;
}

export interface GeneratedSequence {
  /** generated tokens, an end-of-text token included as in HF's output; the prompt not included */
  tokens: number[];
  /** the generated text (end-of-text not written out) */
  text: string;
  finishReason: FinishReason;
  /** beam search: HF's sequences_scores (summed log-probability / generated length ** length_penalty) */
  score?: number;
}

export interface GenerationMetadata {
  seed: number;
  doSample: boolean;
  usedCache: boolean;
  promptTokens: number;
  /** prompt tokens left out because the prompt was longer than n_positions */
  promptTruncated: number;
  /** characters of the prompt outside the tokenizer's vocabulary, read as its unknown token (in order, once each) */
  unknownCharacters: string[];
  /** true when the context reached n_positions and the window slid (older tokens dropped from view) */
  slidWindow: boolean;
  /** how many times the window was recomputed */
  windowSlides: number;
  windowStride: number;
  /** options set that have no effect with these settings (HF warns about the same) */
  ignoredOptions: string[];
  generatedTokens: number;
  /** time of the first pass over the prompt, including reading its logits back */
  prefillMs: number;
  /** time of every later step */
  decodeMs: number;
  /** tokens per second over the steps after the prefill, summed over sequences */
  decodeTokensPerSecond: number;
}

export interface GenerationOutput {
  prompt: number[];
  sequences: GeneratedSequence[];
  metadata: GenerationMetadata;
}

export interface GenerationControl {
  /** stops generation at once, without waiting for the step in flight (its result is dropped) */
  signal?: AbortSignal;
  /** called with each event as it comes (the async iterator gives the same events) */
  onToken?: (e: TokenEvent) => void;
}

export interface GenerateModelOptions extends GenerationOptions {
  /** the ops the model runs on (default: Hearth's kernels) */
  ops?: Ops;
}

/** The promise's value, or null as soon as the signal aborts (the promise then runs on, unobserved). */
async function unlessAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T | null> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return null;
  }
  let onAbort = () => {};
  const aborted = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Prompt ids; an empty prompt starts from end-of-text, GPT-2's usual start of a document. */
function promptIds(tokenizer: GenerationTokenizer, prompt: string | ArrayLike<number>, eos: number[]): number[] {
  const ids = typeof prompt === 'string' ? tokenizer.encode(prompt) : Array.from(prompt);
  if (ids.length > 0) return ids;
  if (eos.length === 0) throw new Error('generate: an empty prompt needs an end-of-text token to start from');
  return [eos[0]];
}

/** The prompt's characters the tokenizer reads as its unknown token, once each, in order of appearance. */
function unknownCharacters(
  tokenizer: GenerationTokenizer,
  prompt: string | ArrayLike<number>,
  ids: number[],
): string[] {
  const unk = tokenizer.unknownTokenId;
  if (typeof prompt !== 'string' || unk === undefined || !ids.includes(unk)) return [];
  return [...new Set(prompt)].filter((c) => tokenizer.encode(c).includes(unk));
}

/**
 * Generates from any CausalDecoder; yields events as tokens come and returns the whole output.
 * The window: when the next token would need position n_positions, the decoder is re-prefilled with the last
 * n_positions − window_stride + 1 tokens (1: exactly what a full forward over the last n_positions tokens gives).
 */
export async function* generateWith(
  decoder: CausalDecoder,
  tokenizer: GenerationTokenizer,
  prompt: string | ArrayLike<number>,
  options: GenerationOptions = {},
  signal?: AbortSignal,
): AsyncGenerator<TokenEvent, GenerationOutput> {
  const maxPos = decoder.maxPositions;
  const tokenizerEos = tokenizer.eosTokenIds ?? tokenizer.eosTokenId ?? null;
  const ids = promptIds(tokenizer, prompt, eosTokenIds(options.eos_token_id, tokenizerEos));
  const o: ResolvedOptions = resolveOptions(options, ids.length, tokenizerEos, maxPos);
  for (const id of ids)
    if (!(Number.isInteger(id) && id >= 0 && id < decoder.vocabSize))
      throw new Error(`generate: prompt token ${id} is outside the vocabulary (${decoder.vocabSize})`);

  const B = o.numReturnSequences;
  const processors = processorsFor(o);
  const sampler = o.doSample ? multinomialSampler(new Random(o.seed)) : greedySampler;
  const criteria: StoppingCriterion[] = [];
  if (o.eosTokenIds.length) criteria.push(eosToken(o.eosTokenIds));
  if (o.stopStrings.length) criteria.push(stopStrings(o.stopStrings));
  criteria.push(maxNewTokens(o.maxNewTokens));
  const padToken = o.eosTokenIds[0] ?? 0;

  const histories = Array.from({ length: B }, () => ids.slice());
  const streamers = Array.from({ length: B }, () => new SequenceStreamer(tokenizer, ids));
  const generated: number[][] = Array.from({ length: B }, () => []);
  const finished: (FinishReason | null)[] = new Array(B).fill(null);
  const meta: GenerationMetadata = {
    seed: o.seed,
    doSample: o.doSample,
    usedCache: o.useCache,
    promptTokens: ids.length,
    promptTruncated: Math.max(0, ids.length - maxPos),
    unknownCharacters: unknownCharacters(tokenizer, prompt, ids),
    slidWindow: ids.length > maxPos,
    windowSlides: 0,
    windowStride: o.windowStride,
    ignoredOptions: o.ignored,
    generatedTokens: 0,
    prefillMs: 0,
    decodeMs: 0,
    decodeTokensPerSecond: 0,
  };
  const output = (): GenerationOutput => ({
    prompt: ids,
    sequences: generated.map((tokens, b) => ({
      tokens,
      text: streamers[b].text,
      finishReason: finished[b] ?? 'length',
    })),
    metadata: meta,
  });
  const windowTokens = (keep: number) => {
    const flat = new Int32Array(B * keep);
    histories.forEach((h, b) => flat.set(h.slice(h.length - keep), b * keep));
    return flat;
  };
  /** Ends every sequence still running with an event of its own (held-back text flushed). */
  function* finishAll(reason: FinishReason): Generator<TokenEvent> {
    for (let b = 0; b < B; b++) {
      if (finished[b]) continue;
      finished[b] = reason;
      yield { sequence: b, token: null, text: streamers[b].flush(), finished: reason };
    }
  }
  /** Beam search: the sequences are known only at the end, when they are streamed out whole, best first. */
  async function* beams(): AsyncGenerator<TokenEvent, GenerationOutput> {
    if (o.stopStrings.length) throw new Error('generate: stop_strings cannot be combined with num_beams > 1');
    const t = performance.now();
    const found = await beamSearch(decoder, ids, { ...o, processors, maxNewTokens: o.maxNewTokens }, signal);
    meta.decodeMs = performance.now() - t;
    if (!found) {
      yield* finishAll('aborted');
      return output();
    }
    const scores: number[] = [];
    for (let b = 0; b < B; b++) {
      const h = found[b];
      scores.push(h.score);
      const reason: FinishReason = h.endedOnEos ? 'eos' : 'length';
      for (let i = 0; i < h.tokens.length; i++) {
        const token = h.tokens[i];
        generated[b].push(token);
        meta.generatedTokens++;
        const special = o.eosTokenIds.includes(token) || tokenizer.specialTokenIds?.has(token);
        let text = special ? '' : streamers[b].push(token);
        const last = i === h.tokens.length - 1;
        if (last) {
          finished[b] = reason;
          text += streamers[b].flush();
        }
        yield last ? { sequence: b, token, text, finished: reason } : { sequence: b, token, text };
      }
      if (h.tokens.length === 0) yield* finishAll(reason);
    }
    const out = output();
    out.sequences.forEach((seq, b) => (seq.score = scores[b]));
    return out;
  }
  if (o.maxNewTokens === 0 || signal?.aborted) {
    yield* finishAll(o.maxNewTokens === 0 ? 'length' : 'aborted');
    return output();
  }

  if (o.numBeams > 1) return yield* beams();

  let t0 = performance.now();
  const firstWindow = Math.min(ids.length, maxPos);
  const prefilled = await unlessAborted(decoder.prefill(windowTokens(firstWindow), B, firstWindow), signal);
  meta.prefillMs = performance.now() - t0;
  if (!prefilled) {
    yield* finishAll('aborted');
    return output();
  }
  let logits = prefilled;
  t0 = performance.now();
  const V = decoder.vocabSize;
  const row = new Float64Array(V);
  const next = new Int32Array(B);

  for (;;) {
    if (signal?.aborted) break;
    for (let b = 0; b < B; b++) {
      if (finished[b]) {
        next[b] = padToken;
        continue;
      }
      for (let i = 0; i < V; i++) row[i] = logits[b * V + i];
      for (const p of processors) p.process(row, histories[b]);
      next[b] = sampler.choose(row);
    }
    for (let b = 0; b < B; b++) {
      if (finished[b]) continue;
      const token = next[b];
      histories[b].push(token);
      generated[b].push(token);
      meta.generatedTokens++;
      const s = streamers[b];
      const before = s.text.length;
      // As HF's text-generation pipeline (skip_special_tokens): the token is kept, its text is not.
      let text = o.eosTokenIds.includes(token) || tokenizer.specialTokenIds?.has(token) ? '' : s.push(token);
      const reason = firstReason(criteria, {
        newTokens: generated[b].length,
        lastToken: token,
        text: s.text,
        previousTextLength: before,
      });
      if (reason) {
        finished[b] = reason;
        text += s.flush();
      }
      yield reason ? { sequence: b, token, text, finished: reason } : { sequence: b, token, text };
    }
    if (finished.every((f) => f) || signal?.aborted) break;

    let pending: Promise<Float32Array>;
    if (decoder.length < maxPos) {
      pending = decoder.step(next);
    } else {
      const keep = maxPos - o.windowStride + 1;
      pending = decoder.prefill(windowTokens(keep), B, keep);
      meta.slidWindow = true;
      meta.windowSlides++;
    }
    const nextLogits = await unlessAborted(pending, signal);
    if (!nextLogits) break;
    logits = nextLogits;
  }
  meta.decodeMs = performance.now() - t0;
  // Tokens after the first came from decode steps (the first from the prefill's logits).
  const decoded = meta.generatedTokens - Math.min(B, meta.generatedTokens);
  meta.decodeTokensPerSecond = meta.decodeMs > 0 ? (decoded * 1000) / meta.decodeMs : 0;
  // Only an abort leaves sequences running: every other way out of the loop has finished them all.
  yield* finishAll('aborted');
  return output();
}

/** generateWith over a CausalLM: the KV cache unless use_cache is false. */
export function streamGenerate(
  model: CausalLM,
  tokenizer: GenerationTokenizer,
  prompt: string | ArrayLike<number>,
  options: GenerateModelOptions = {},
  signal?: AbortSignal,
): AsyncGenerator<TokenEvent, GenerationOutput> {
  const { ops, ...rest } = options;
  const decoder = rest.use_cache === false ? new FullPrefixDecoder(model, ops) : new KVCacheDecoder(model, ops);
  return (async function* () {
    try {
      return yield* generateWith(decoder, tokenizer, prompt, rest, signal);
    } finally {
      decoder.dispose();
    }
  })();
}

/** Runs generation to the end; events go to control.onToken as they come. */
export async function generate(
  model: CausalLM,
  tokenizer: GenerationTokenizer,
  prompt: string | ArrayLike<number>,
  options: GenerateModelOptions = {},
  control: GenerationControl = {},
): Promise<GenerationOutput> {
  return drain(streamGenerate(model, tokenizer, prompt, options, control.signal), control.onToken);
}

/** Consumes a generation stream, passing each event on; its return value. */
export async function drain(
  stream: AsyncGenerator<TokenEvent, GenerationOutput>,
  onToken?: (e: TokenEvent) => void,
): Promise<GenerationOutput> {
  for (;;) {
    const r = await stream.next();
    if (r.done) return r.value;
    onToken?.(r.value);
  }
}
