// The Llama family (llama, mistral, qwen2) on the GPU against the float64 reference: logits, loss and every
// parameter's gradient, with Hearth's kernels and with stock tfjs ops, with gradient checkpointing, and the KV cache's
// greedy decoding against full forward passes (a Mistral's sliding window among them). Sizes are not multiples of any
// tile.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import {
  expectCheckpointingAgrees,
  randomModel,
  LLAMA_GQA_DIMS,
  MISTRAL_WINDOW_DIMS,
  QWEN2_TIED_DIMS,
} from './models.ts';
import type { LlamaDims } from '../../src/core/model/families/llama_config.ts';
import { referenceLlamaLossAndGrads } from '../../src/core/model/reference/llama.ts';
import type { RefParams } from '../../src/core/model/reference/gpt2.ts';
import { kernelOps } from '../../src/core/model/kernel_ops.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';
import { KVCacheDecoder } from '../../src/core/generate/kv_cache.ts';
import { FullPrefixDecoder, type CausalDecoder } from '../../src/core/generate/decoder.ts';
import { argmax } from '../../src/core/generate/samplers.ts';

const B = 2;
const T = 9;

function batch(d: LlamaDims, seed: number) {
  const r = rng(seed);
  const tokens = r.ints(B * T, d.vocab_size);
  const targets = r.ints(B * T, d.vocab_size);
  targets[4] = -100;
  return { tokens, targets };
}

const CASES: [string, LlamaDims][] = [
  ['llama, 4 query heads on 2 key/value heads, untied head, llama3 rope scaling', LLAMA_GQA_DIMS],
  ['qwen2, q/k/v biases, 1 key/value head, tied head', QWEN2_TIED_DIMS],
  ['mistral, sliding_window 4 within a block of 9', MISTRAL_WINDOW_DIMS],
  [
    'qwen2, use_sliding_window: layer 0 full, layer 1 within 3 positions',
    { ...QWEN2_TIED_DIMS, use_sliding_window: true, sliding_window: 3, max_window_layers: 1 },
  ],
];

describe('Llama-family model', () => {
  useGpu();

  for (const [label, dims] of CASES) {
    for (const ops of [kernelOps, stockOps]) {
      it(`logits, loss and every gradient match the float64 reference (${label}; ${ops.name})`, async () => {
        const seed = rng().seed;
        const model = randomModel(dims, seed);
        const { tokens, targets } = batch(dims, seed + 1);
        const ref: RefParams = new Map();
        for (const [n, a] of await model.toArrays()) ref.set(n, Float64Array.from(a.data));
        const expected = referenceLlamaLossAndGrads(dims, ref, tokens, targets, B, T);
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

    it(`gradient checkpointing gives the same loss and gradients (${label})`, async () => {
      const seed = rng().seed;
      const model = randomModel(dims, seed);
      await expectCheckpointingAgrees(model, { ...batch(dims, seed + 3), B, T }, seed);
    });
  }

  async function greedy(decoder: CausalDecoder, rows: number[][], steps: number): Promise<number[][]> {
    const out = rows.map((r) => r.slice());
    const T0 = rows[0].length;
    let logits = await decoder.prefill(Int32Array.from(rows.flat()), rows.length, T0);
    const V = decoder.vocabSize;
    for (let s = 0; s < steps; s++) {
      const next = Int32Array.from(out, (_, b) => argmax(logits.subarray(b * V, (b + 1) * V)));
      out.forEach((r, b) => r.push(next[b]));
      if (s < steps - 1) logits = await decoder.step(next);
    }
    return out;
  }

  it('KV-cache greedy decoding equals greedy by full forward passes, to the last position', async () => {
    for (const dims of [LLAMA_GQA_DIMS, QWEN2_TIED_DIMS, MISTRAL_WINDOW_DIMS]) {
      const seed = rng().seed;
      const model = randomModel(dims, seed);
      const prompt = Array.from({ length: B }, (_, b) => Array.from(rng(seed + b).ints(4, dims.vocab_size)));
      const steps = dims.max_position_embeddings - 4;
      const cached = new KVCacheDecoder(model);
      const full = new FullPrefixDecoder(model);
      expect(await greedy(cached, prompt, steps), `seed ${seed}, ${dims.model_type}`).toEqual(
        await greedy(full, prompt, steps),
      );
      cached.dispose();
      full.dispose();
      model.dispose();
    }
  });
});
