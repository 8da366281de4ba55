// The generation loop on a scripted decoder (known logits, no GPU): streaming, batching, stopping, aborting,
// the sliding window, and sampling checked by chi-square through the whole pipeline.
import { describe, it, expect } from 'vitest';
import { generateWith, drain, type TokenEvent } from '../../src/core/generate/generate.ts';
import type { CausalDecoder } from '../../src/core/generate/decoder.ts';
import type { GenerationOptions } from '../../src/core/generate/options.ts';
import { SequenceStreamer, decodeBasedStreamDecoder } from '../../src/core/generate/streamer.ts';
import { loadGpt2Tokenizer } from '../../src/core/tokenizer/gpt2.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';

/** Bytes as ids 0..255 and end-of-text 256; no stream decoder of its own, so the decode()-based one is used. */
const EOS = 256;
const byteTokenizer = {
  eosTokenId: EOS,
  encode: (text: string) => [...new TextEncoder().encode(text)],
  decode: (ids: ArrayLike<number>) => new TextDecoder().decode(Uint8Array.from(Array.from(ids).filter((i) => i < 256))),
};

type LogitsFor = (rows: number[][]) => Float32Array;

/** Logits come from a function of each sequence's visible tokens; records every call. */
class ScriptedDecoder implements CausalDecoder {
  readonly vocabSize = 257;
  rows: number[][] = [];
  calls: { kind: 'prefill' | 'step'; B: number; T: number; window?: number[] }[] = [];
  constructor(
    readonly maxPositions: number,
    private readonly logitsFor: LogitsFor,
  ) {}
  get length() {
    return this.rows[0]?.length ?? 0;
  }
  async prefill(tokens: Int32Array, B: number, T: number) {
    if (T > this.maxPositions) throw new Error('prefill beyond n_positions');
    this.rows = Array.from({ length: B }, (_, b) => Array.from(tokens.subarray(b * T, (b + 1) * T)));
    this.calls.push({ kind: 'prefill', B, T, window: this.rows[0].slice() });
    return this.logitsFor(this.rows);
  }
  async step(tokens: Int32Array) {
    if (this.length >= this.maxPositions) throw new Error('step beyond n_positions');
    this.rows.forEach((r, b) => r.push(tokens[b]));
    this.calls.push({ kind: 'step', B: this.rows.length, T: 1 });
    return this.logitsFor(this.rows);
  }
  reorder(rows: Int32Array) {
    this.rows = Array.from(rows, (r) => this.rows[r].slice());
  }
  dispose() {}
}

/** Greedy script: each row's logits point at the next byte of `text` (by how much it has generated), then EOS. */
function spell(text: string, promptLength: number): LogitsFor {
  const bytes = [...new TextEncoder().encode(text)];
  return (rows) => {
    const out = new Float32Array(rows.length * 257);
    rows.forEach((r, b) => {
      const i = r.length - promptLength;
      out[b * 257 + (i < bytes.length ? bytes[i] : EOS)] = 10;
    });
    return out;
  };
}

/** Greedy script that sees only the visible window: the letter after each row's last one ('z' → 'a'). */
const nextLetter: LogitsFor = (rows) => {
  const out = new Float32Array(rows.length * 257);
  rows.forEach((r, b) => (out[b * 257 + 97 + ((r[r.length - 1] - 97 + 1) % 26)] = 10));
  return out;
};

async function run(
  decoder: CausalDecoder,
  prompt: string | number[],
  options: GenerationOptions,
  signal?: AbortSignal,
) {
  const events: TokenEvent[] = [];
  const output = await drain(generateWith(decoder, byteTokenizer, prompt, options, signal), (e) => events.push(e));
  return { events, output };
}

describe('generation loop', () => {
  it('streams multi-byte characters only once complete, and ends at end-of-text', async () => {
    const target = '今天天气很好 ok';
    const { events, output } = await run(new ScriptedDecoder(64, spell(target, 2)), 'ab', { max_new_tokens: 40 });
    expect(events.map((e) => e.text).join('')).toBe(target);
    expect(events.every((e) => !e.text.includes('\uFFFD'))).toBe(true);
    expect(events.filter((e) => e.text === '').length).toBeGreaterThan(10); // continuation bytes wait
    expect(events.at(-1)).toMatchObject({ token: EOS, finished: 'eos' });
    expect(output.sequences[0]).toMatchObject({ text: target, finishReason: 'eos' });
    expect(output.sequences[0].tokens.length).toBe(new TextEncoder().encode(target).length + 1);
  });

  it("leaves special tokens (a char vocabulary's <|unk|>) out of the text but keeps them in the tokens, as HF's pipeline", async () => {
    const tok = charTokenizerFrom('abc');
    const unk = tok.encode('z')[0];
    expect(tok.specialTokenIds.has(unk)).toBe(true);
    const script = [tok.encode('a')[0], unk, tok.encode('b')[0], tok.eosTokenId];
    const V = tok.vocabSize;
    const decoder = new ScriptedDecoder(64, (rows) => {
      const out = new Float32Array(rows.length * V);
      rows.forEach((r, b) => (out[b * V + script[Math.min(r.length - 1, script.length - 1)]] = 10));
      return out;
    });
    Object.assign(decoder, { vocabSize: V });
    const events: TokenEvent[] = [];
    const output = await drain(generateWith(decoder, tok, 'c', { max_new_tokens: 10 }), (e) => events.push(e));
    expect(output.sequences[0]).toMatchObject({ text: 'ab', tokens: script, finishReason: 'eos' });
    expect(events.map((e) => e.text)).toEqual(['a', '', 'b', '']);
    expect(output.metadata.unknownCharacters).toEqual([]);
    // A prompt with characters the vocabulary lacks says which, once each, in order.
    const unknown = await drain(generateWith(decoder, tok, 'a☃bé☃', { max_new_tokens: 2 }), () => {});
    expect(unknown.metadata.unknownCharacters).toEqual(['☃', 'é']);
  });

  it("stops at any of the tokenizer's end-of-text ids (generation_config.json may list several)", async () => {
    const tok = { ...byteTokenizer, eosTokenIds: [EOS, 0x21] }; // "!" ends a sequence too
    const decoder = new ScriptedDecoder(64, spell('hi!there', 1));
    const output = await drain(generateWith(decoder, tok, 'x', { max_new_tokens: 20 }), () => {});
    expect(output.sequences[0]).toMatchObject({ text: 'hi', tokens: [0x68, 0x69, 0x21], finishReason: 'eos' });
    // An eos_token_id option still overrides the tokenizer's.
    const own = await drain(
      generateWith(new ScriptedDecoder(64, spell('hi!there', 1)), tok, 'x', { eos_token_id: 0x74 }),
      () => {},
    );
    expect(own.sequences[0]).toMatchObject({ text: 'hi!', finishReason: 'eos' });
  });

  it('stops at a stop string, keeping it, and at max_new_tokens / max_length', async () => {
    const stopped = await run(new ScriptedDecoder(64, spell('hello\n\nworld', 1)), 'x', { stop_strings: ['\n\n'] });
    expect(stopped.output.sequences[0]).toMatchObject({ text: 'hello\n\n', finishReason: 'stop_string' });
    const short = await run(new ScriptedDecoder(64, spell('hello world', 1)), 'x', { max_new_tokens: 4 });
    expect(short.output.sequences[0]).toMatchObject({ text: 'hell', finishReason: 'length' });
    const byLength = await run(new ScriptedDecoder(64, spell('hello world', 3)), 'xyz', { max_length: 5 });
    expect(byLength.output.sequences[0].text).toBe('he');
    const none = new ScriptedDecoder(64, spell('hello', 1));
    expect((await run(none, 'x', { max_new_tokens: 0 })).output.sequences[0].tokens).toEqual([]);
    expect(none.calls).toEqual([]);
  });

  it('an abort signal stops at once, flushing held-back text', async () => {
    const controller = new AbortController();
    const decoder = new ScriptedDecoder(64, spell('abcdefghijklmnop', 1));
    const events: TokenEvent[] = [];
    const output = await drain(
      generateWith(decoder, byteTokenizer, 'x', { max_new_tokens: 50 }, controller.signal),
      (e) => {
        events.push(e);
        if (events.length === 3) controller.abort();
      },
    );
    expect(output.sequences[0]).toMatchObject({ text: 'abc', finishReason: 'aborted' });
    expect(decoder.calls.length).toBe(3);
    expect(events.at(-1)).toMatchObject({ token: null, finished: 'aborted' });

    const idle = new ScriptedDecoder(64, spell('abc', 1));
    const before = await run(idle, 'x', { max_new_tokens: 5 }, AbortSignal.abort());
    expect(idle.calls).toEqual([]);
    expect(before.events).toEqual([{ sequence: 0, token: null, text: '', finished: 'aborted' }]);
  });

  it('an abort during a step in flight returns without waiting for it', async () => {
    const controller = new AbortController();
    const decoder = new ScriptedDecoder(64, spell('abcdef', 1));
    let stepsStarted = 0;
    decoder.step = () => {
      stepsStarted++;
      setTimeout(() => controller.abort(), 10);
      return new Promise<Float32Array>(() => {}); // a step that never finishes
    };
    const { output, events } = await run(decoder, 'x', { max_new_tokens: 5 }, controller.signal);
    expect(stepsStarted).toBe(1);
    expect(output.sequences[0]).toMatchObject({ text: 'a', finishReason: 'aborted' });
    expect(events.map((e) => e.finished ?? '-')).toEqual(['-', 'aborted']);
  });

  it('slides the window at n_positions: stride 1 recomputes over the last n_positions tokens each step', async () => {
    const decoder = new ScriptedDecoder(8, nextLetter);
    const { output } = await run(decoder, 'xyz', { max_new_tokens: 12 });
    expect(output.sequences[0].text).toBe('abcdefghijkl');
    const prefills = decoder.calls.filter((c) => c.kind === 'prefill');
    // 3 prompt tokens + 5 steps fill 8 positions; each of the remaining 6 tokens needs a recompute.
    expect(prefills.length).toBe(1 + 6);
    expect(prefills.slice(1).every((c) => c.T === 8)).toBe(true);
    expect(String.fromCharCode(...prefills[1].window!)).toBe('yzabcdef');
    expect(output.metadata).toMatchObject({ slidWindow: true, windowSlides: 6, windowStride: 1 });
  });

  it('a larger window stride keeps n_positions − stride + 1 tokens and steps in between', async () => {
    const decoder = new ScriptedDecoder(8, nextLetter);
    const { output } = await run(decoder, 'xyz', { max_new_tokens: 12, window_stride: 3 });
    expect(output.sequences[0].text).toBe('abcdefghijkl');
    const kinds = decoder.calls.map((c) => (c.kind === 'prefill' ? `P${c.T}` : 's')).join(' ');
    expect(kinds).toBe('P3 s s s s s P6 s s P6 s s');
    expect(output.metadata.windowSlides).toBe(2);
  });

  it('a prompt longer than n_positions is cut to its last n_positions tokens', async () => {
    const decoder = new ScriptedDecoder(4, spell('ab', 6));
    const { output } = await run(decoder, '123456', { max_new_tokens: 1 });
    expect(String.fromCharCode(...decoder.calls[0].window!)).toBe('3456');
    expect(output.metadata).toMatchObject({ promptTokens: 6, promptTruncated: 2, slidWindow: true });
    expect(output.prompt.length).toBe(6);
  });

  it('an empty prompt starts from end-of-text', async () => {
    const decoder = new ScriptedDecoder(8, spell('a', 1));
    await run(decoder, '', { max_new_tokens: 1 });
    expect(decoder.calls[0].window).toEqual([EOS]);
  });

  it('num_return_sequences run as one batch; a seed fixes them, and the drawn seed is reported', async () => {
    // Equal logits: uniform over every byte and EOS.
    const uniform: LogitsFor = (rows) => new Float32Array(rows.length * 257);
    const opts = { do_sample: true, num_return_sequences: 4, max_new_tokens: 6, eos_token_id: null, top_k: 0 };
    const d1 = new ScriptedDecoder(64, uniform);
    const a = await run(d1, 'x', { ...opts, seed: 11 });
    const b = await run(new ScriptedDecoder(64, uniform), 'x', { ...opts, seed: 11 });
    expect(d1.calls.every((c) => c.B === 4)).toBe(true);
    expect(a.output.sequences.map((s) => s.tokens)).toEqual(b.output.sequences.map((s) => s.tokens));
    expect(new Set(a.output.sequences.map((s) => s.tokens.join())).size).toBe(4);
    const drawn = await run(new ScriptedDecoder(64, uniform), 'x', opts);
    const again = await run(new ScriptedDecoder(64, uniform), 'x', { ...opts, seed: drawn.output.metadata.seed });
    expect(again.output.sequences).toEqual(drawn.output.sequences);
  });

  it('chi-square through the whole loop: 6000 sequences in one batch, temperature 0.7, top_k 4', async () => {
    const logits = new Float32Array(257).fill(-20);
    [2, 1.5, 1, 0.2, -0.3].forEach((x, i) => (logits[97 + i] = x));
    const decoder = new ScriptedDecoder(8, (rows) => {
      const out = new Float32Array(rows.length * 257);
      rows.forEach((_, b) => out.set(logits, b * 257));
      return out;
    });
    const N = 6000;
    const { output } = await run(decoder, 'x', {
      do_sample: true,
      temperature: 0.7,
      top_k: 4,
      num_return_sequences: N,
      max_new_tokens: 1,
      seed: 5,
    });
    const counts = [0, 0, 0, 0, 0];
    for (const s of output.sequences) counts[s.tokens[0] - 97]++;
    const w = [2, 1.5, 1, 0.2].map((x) => Math.exp(x / 0.7));
    const sum = w.reduce((a, b) => a + b);
    const chi2 = w.reduce((acc, x, i) => acc + (counts[i] - (N * x) / sum) ** 2 / ((N * x) / sum), 0);
    expect(counts[4]).toBe(0);
    expect(chi2, `counts ${counts}`).toBeLessThan(16.27); // df 3, p = 0.001
  });
});

describe('streamers', () => {
  it('the decode()-based stream decoder holds back an incomplete character', () => {
    const d = decodeBasedStreamDecoder(byteTokenizer.decode);
    const bytes = byteTokenizer.encode('é!');
    expect(d.push(bytes[0])).toBe('');
    expect(d.push(bytes[1])).toBe('é');
    expect(d.push(bytes[2])).toBe('!');
    expect(d.push(bytes[0])).toBe('');
    expect(d.flush()).toBe('\uFFFD');
  });

  it('a Chinese prompt round-trips through GPT-2’s tokenizer, streamed token by token without broken characters', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const prompt = '今天天气很好,我们可以去';
    const ids = tokenizer.encode(prompt);
    expect(tokenizer.decode(ids)).toBe(prompt);
    const streamer = new SequenceStreamer(tokenizer);
    const pieces = ids.map((id) => streamer.push(id));
    expect(pieces.join('') + streamer.flush()).toBe(prompt);
    expect(pieces.some((p) => p === '')).toBe(true); // some tokens end mid-character
    expect(pieces.every((p) => !p.includes('\uFFFD'))).toBe(true);
  });
});
