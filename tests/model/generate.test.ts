// Generation on a tiny random GPT-2 on the GPU: the KV cache against full forward passes, sampling options,
// the sliding window, and the seed's own Chinese example through GPT-2's tokenizer.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { randomModel, SMALL_DIMS } from './models.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import type { ModelDims } from '../../src/core/model/families/index.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';
import { kernelOps } from '../../src/core/model/kernel_ops.ts';
import type { Ops } from '../../src/core/model/ops.ts';
import { KVCacheDecoder } from '../../src/core/generate/kv_cache.ts';
import { generate, type GenerateModelOptions } from '../../src/core/generate/generate.ts';
import { argmax } from '../../src/core/generate/samplers.ts';
import { loadGpt2Tokenizer } from '../../src/core/tokenizer/gpt2.ts';

// Odd vocabulary, head_dim 6, a short n_positions so that the window slides within a test.
const dims = SMALL_DIMS;

/** Ids are letters; no end-of-text, so generation runs to its length. */
const letters = {
  encode: (s: string) => [...s].map((c) => c.charCodeAt(0) - 65),
  decode: (ids: ArrayLike<number>) => String.fromCharCode(...Array.from(ids, (i) => 65 + i)),
};

/** Greedy by a full forward over the (cropped to n_positions) prefix each step: the definition the cache must meet. */
async function greedyByFullForward(
  model: CausalLM,
  prompt: number[],
  newTokens: number,
  ops: Ops = kernelOps,
): Promise<number[]> {
  const seq = prompt.slice();
  for (let i = 0; i < newTokens; i++) {
    const ctx = seq.slice(-model.dims.n_positions);
    const logits = model.forward(Int32Array.from(ctx), 1, ctx.length, { ops });
    const all = await logits.data();
    logits.dispose();
    seq.push(argmax(all.subarray((ctx.length - 1) * model.dims.vocab_size)));
  }
  return seq.slice(prompt.length);
}

const tokensOf = async (model: CausalLM, prompt: number[], o: GenerateModelOptions) =>
  (await generate(model, letters, prompt, { eos_token_id: null, ...o })).sequences.map((s) => s.tokens);

describe('generation with a KV cache', () => {
  useGpu();

  for (const ops of [kernelOps, stockOps]) {
    it(`cached logits equal the full forward's last row at every step, greedy token for token (${ops.name})`, async () => {
      const seed = rng().seed;
      const model = randomModel(dims, seed);
      const r = rng(seed + 1);
      const B = 2;
      const T = 5;
      const rows = Array.from({ length: B }, () => Array.from(r.ints(T, dims.vocab_size)));
      const decoder = new KVCacheDecoder(model, ops);
      let logits = await decoder.prefill(Int32Array.from(rows.flat()), B, T);
      const V = dims.vocab_size;
      for (let step = 0; ; step++) {
        const L = rows[0].length;
        const full = model.forward(Int32Array.from(rows.flat()), B, L, { ops });
        const all = await full.data();
        full.dispose();
        const next = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          const want = all.subarray(((b + 1) * L - 1) * V, (b + 1) * L * V);
          const got = logits.subarray(b * V, (b + 1) * V);
          expect(relError(got, want), `seed ${seed} step ${step} row ${b}`).toBeLessThan(1e-4);
          expect(argmax(got)).toBe(argmax(want));
          next[b] = argmax(got);
          rows[b].push(next[b]);
        }
        if (decoder.length === dims.n_positions) break;
        logits = await decoder.step(next);
      }
      expect(() => decoder.step(new Int32Array(B))).toThrow(/slide the window/);
      decoder.dispose();
      model.dispose();
    });
  }

  it('greedy generate with the cache, without it, and by full forward passes agree, past n_positions too', async () => {
    const seed = rng().seed;
    const model = randomModel(dims, seed);
    const prompt = Array.from(rng(seed + 2).ints(5, dims.vocab_size));
    const want = await greedyByFullForward(model, prompt, 24);
    const out = await generate(model, letters, prompt, { max_new_tokens: 24, eos_token_id: null });
    expect(out.sequences[0].tokens, `seed ${seed}`).toEqual(want);
    expect(out.metadata).toMatchObject({
      slidWindow: true,
      windowSlides: 24 - (dims.n_positions - 5 + 1),
      usedCache: true,
    });
    expect(await tokensOf(model, prompt, { max_new_tokens: 24, use_cache: false })).toEqual([want]);
    // A wider stride changes what the model sees after a slide, the same way with and without the cache.
    const strided = await tokensOf(model, prompt, { max_new_tokens: 30, window_stride: 5 });
    expect(await tokensOf(model, prompt, { max_new_tokens: 30, window_stride: 5, use_cache: false })).toEqual(strided);
    model.dispose();
  });

  it('seeded sampling is reproducible, one batch of num_return_sequences, the same with and without the cache', async () => {
    const model = randomModel(dims, rng().seed);
    const prompt = [1, 2, 3];
    const o = {
      do_sample: true,
      temperature: 0.9,
      top_k: 20,
      top_p: 0.95,
      repetition_penalty: 1.3,
      num_return_sequences: 3,
      max_new_tokens: 18,
      seed: 1234,
    };
    const a = await tokensOf(model, prompt, o);
    expect(a.length).toBe(3);
    expect(new Set(a.map((s) => s.join())).size).toBeGreaterThan(1);
    expect(await tokensOf(model, prompt, o)).toEqual(a);
    expect(await tokensOf(model, prompt, { ...o, use_cache: false })).toEqual(a);
    expect(await tokensOf(model, prompt, { ...o, seed: 4321 })).not.toEqual(a);
    model.dispose();
  });

  it('beam search with the cache (its rows reordered each step) equals beam search by full forward passes', async () => {
    const model = randomModel(dims, rng().seed);
    const o = { num_beams: 4, num_return_sequences: 4, max_new_tokens: 10, no_repeat_ngram_size: 3 };
    const cached = await generate(model, letters, [1, 2, 3], { eos_token_id: 0, ...o });
    const full = await generate(model, letters, [1, 2, 3], { eos_token_id: 0, ...o, use_cache: false });
    expect(cached.sequences.map((s) => s.tokens)).toEqual(full.sequences.map((s) => s.tokens));
    cached.sequences.forEach((s, i) => expect(relError([s.score!], [full.sequences[i].score!])).toBeLessThan(1e-4));
    const scores = cached.sequences.map((s) => s.score!);
    expect(scores).toEqual(scores.slice().sort((a, b) => b - a));
    model.dispose();
  });

  it('sampling with top_k = 1 is greedy', async () => {
    const model = randomModel(dims, rng().seed);
    const prompt = [7, 3];
    const greedy = await tokensOf(model, prompt, { max_new_tokens: 10 });
    expect(
      await tokensOf(model, prompt, { do_sample: true, top_k: 1, temperature: 2, seed: 9, max_new_tokens: 10 }),
    ).toEqual(greedy);
    model.dispose();
  });

  it('the seed’s example: a Chinese prompt, GPT-2’s tokenizer, streamed text equal to the decoded tokens', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const d: ModelDims = {
      vocab_size: tokenizer.vocabSize,
      n_positions: 64,
      n_embd: 16,
      n_layer: 1,
      n_head: 2,
      layer_norm_epsilon: 1e-5,
    };
    const model = CausalLM.init(d, 5);
    const prompt = '今天天气很好,我们可以去';
    const streamed = ['', '', ''];
    const out = await generate(
      model,
      tokenizer,
      prompt,
      { do_sample: true, max_length: 50, top_k: 50, temperature: 0.7, num_return_sequences: 3, seed: 42 },
      { onToken: (e) => (streamed[e.sequence] += e.text) },
    );
    expect(tokenizer.decode(out.prompt)).toBe(prompt);
    expect(out.sequences.length).toBe(3);
    for (const [b, s] of out.sequences.entries()) {
      expect(out.prompt.length + s.tokens.length).toBeLessThanOrEqual(50);
      if (s.finishReason === 'length') expect(out.prompt.length + s.tokens.length).toBe(50);
      expect(streamed[b]).toBe(s.text);
      expect(s.text).toBe(tokenizer.decode(s.tokens.filter((t) => t !== tokenizer.eosTokenId)));
    }
    tf.dispose([]);
    model.dispose();
  });
});
