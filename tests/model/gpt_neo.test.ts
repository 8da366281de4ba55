// GPT-Neo on the GPU against the float64 reference: logits, loss and every parameter's gradient with Hearth's kernels
// and with stock tfjs ops, gradient checkpointing, and the KV cache's greedy decoding against full forward passes past
// the local layer's window. Sizes are not multiples of any tile.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { expectCheckpointingAgrees, randomModel, GPT_NEO_DIMS } from './models.ts';
import type { GptNeoDims } from '../../src/core/model/families/gpt_neo_config.ts';
import { referenceGptNeoLossAndGrads } from '../../src/core/model/reference/gpt_neo.ts';
import type { RefParams } from '../../src/core/model/reference/gpt2.ts';
import { kernelOps } from '../../src/core/model/kernel_ops.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';
import { KVCacheDecoder } from '../../src/core/generate/kv_cache.ts';
import { FullPrefixDecoder, type CausalDecoder } from '../../src/core/generate/decoder.ts';
import { argmax } from '../../src/core/generate/samplers.ts';

const B = 2;
const T = 9;

function batch(d: GptNeoDims, seed: number) {
  const r = rng(seed);
  const tokens = r.ints(B * T, d.vocab_size);
  const targets = r.ints(B * T, d.vocab_size);
  targets[4] = -100;
  return { tokens, targets };
}

// an untied head and every layer local, a window of two positions
const UNTIED_LOCAL: GptNeoDims = {
  ...GPT_NEO_DIMS,
  attention_types: [[['local'], 2]],
  window_size: 2,
  intermediate_size: null,
  tie_word_embeddings: false,
};

describe('GPT-Neo model', () => {
  useGpu();

  for (const ops of [kernelOps, stockOps]) {
    for (const dims of ops === kernelOps ? [GPT_NEO_DIMS, UNTIED_LOCAL] : [GPT_NEO_DIMS]) {
      const label = `${dims === GPT_NEO_DIMS ? 'global + local, window 3, tied' : 'local, window 2, untied'}; ${ops.name}`;
      it(`logits, loss and every gradient match the float64 reference (${label})`, async () => {
        const seed = rng().seed;
        const model = randomModel(dims, seed);
        const { tokens, targets } = batch(dims, seed + 1);
        const ref: RefParams = new Map();
        for (const [n, a] of await model.toArrays()) ref.set(n, Float64Array.from(a.data));
        const expected = referenceGptNeoLossAndGrads(dims, ref, tokens, targets, B, T);
        const { loss, grads } = model.lossAndGrads(tokens, targets, B, T, { ops });
        const got = (await loss.data())[0];
        expect(
          Math.abs(got - expected.loss) / expected.loss,
          `seed ${seed}: loss ${got} vs ${expected.loss}`,
        ).toBeLessThan(1e-4);
        expect(grads.size).toBe(ref.size);
        for (const [name, g] of grads) {
          const e = relError(await g.data(), expected.grads.get(name)!);
          expect(e, `seed ${seed}: gradient of ${name}, relative error ${e}`).toBeLessThan(1e-4);
        }
        const logits = model.forward(tokens, B, T, { ops });
        expect(relError(await logits.data(), expected.logits), `seed ${seed}: logits`).toBeLessThan(1e-4);
        tf.dispose([loss, logits, ...grads.values()]);
        model.dispose();
      });
    }
  }

  it('gradient checkpointing gives the same loss and gradients, with dropout', async () => {
    const seed = rng().seed;
    const dims = { ...GPT_NEO_DIMS, resid_dropout: 0.1, embed_dropout: 0.1, attention_dropout: 0.1 };
    const model = randomModel(dims, seed);
    await expectCheckpointingAgrees(model, { ...batch(dims, seed + 3), B, T }, seed, { dropoutSeed: seed });
  });

  async function greedy(decoder: CausalDecoder, rows: number[][], steps: number): Promise<number[][]> {
    const out = rows.map((r) => r.slice());
    let logits = await decoder.prefill(Int32Array.from(rows.flat()), rows.length, rows[0].length);
    const V = decoder.vocabSize;
    for (let s = 0; s < steps; s++) {
      const next = Int32Array.from(out, (_, b) => argmax(logits.subarray(b * V, (b + 1) * V)));
      out.forEach((r, b) => r.push(next[b]));
      if (s < steps - 1) logits = await decoder.step(next);
    }
    return out;
  }

  it('KV-cache greedy decoding equals greedy by full forward passes, far past the local window', async () => {
    const seed = rng().seed;
    const model = randomModel(GPT_NEO_DIMS, seed);
    const prompt = Array.from({ length: B }, (_, b) => Array.from(rng(seed + b).ints(4, GPT_NEO_DIMS.vocab_size)));
    const steps = GPT_NEO_DIMS.max_position_embeddings - 4;
    const cached = new KVCacheDecoder(model);
    const full = new FullPrefixDecoder(model);
    expect(await greedy(cached, prompt, steps), `seed ${seed}`).toEqual(await greedy(full, prompt, steps));
    cached.dispose();
    full.dispose();
    model.dispose();
  });
});
