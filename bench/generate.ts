// Generation benchmark: tokens per second of decoding with the KV cache against decoding by a full forward over
// the whole prefix each token, at 64 and 512 tokens of context, same model, same device, same run.
//
// Both decoders run Hearth's kernels and the same head (the few-rows matmul) over the last position only, so the
// ratio is the cache's. One sequence, greedy-fed tokens, times measured from the decoders (sampling's CPU work is
// the same for both and small). Each side is warmed up by its prefill and one step before the clock starts.
import { initTf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { CausalLM } from '../src/core/model/causal_lm.ts';
import type { GPT2Dims } from '../src/core/model/families/gpt2_config.ts';
import { KVCacheDecoder } from '../src/core/generate/kv_cache.ts';
import { FullPrefixDecoder, type CausalDecoder } from '../src/core/generate/decoder.ts';
import { argmax } from '../src/core/generate/samplers.ts';
import { Random } from '../src/core/util/random.ts';
import type { Report } from './report.ts';

// Small enough that the uncached side at 512 tokens finishes a few tokens within a minute on SwiftShader.
const DIMS: GPT2Dims = {
  vocab_size: 4096,
  n_positions: 640,
  n_embd: 128,
  n_layer: 4,
  n_head: 4,
  layer_norm_epsilon: 1e-5,
};
const CONTEXTS = [64, 512];
/** Each measurement stops after this many tokens or once it has run this long (and has at least 2 tokens). */
const MAX_TOKENS = 32;
const TIME_BOX_MS = 20_000;

interface Rate {
  tokens: number;
  ms: number;
  tokensPerSecond: number;
}

/** Prefills `prompt`, takes one warm-up step, then times steps fed with the greedy token. */
async function decodeRate(decoder: CausalDecoder, prompt: Int32Array): Promise<Rate> {
  let logits = await decoder.prefill(prompt, 1, prompt.length);
  logits = await decoder.step(Int32Array.of(argmax(logits)));
  let tokens = 0;
  const start = performance.now();
  while (tokens < MAX_TOKENS && (tokens < 2 || performance.now() - start < TIME_BOX_MS)) {
    logits = await decoder.step(Int32Array.of(argmax(logits)));
    tokens++;
  }
  const ms = performance.now() - start;
  return { tokens, ms, tokensPerSecond: (tokens * 1000) / ms };
}

export async function benchGenerate(report: Report): Promise<void> {
  const ctx = await initTf();
  const d = DIMS;
  report(
    `generation on ${describeGpu(ctx)}; GPT-2 ${d.n_layer} layers × ${d.n_embd} wide, ${d.n_head} heads, vocab ${d.vocab_size}, ` +
      `n_positions ${d.n_positions}; one sequence, tokens/s after a warm-up step (up to ${MAX_TOKENS} tokens or ${TIME_BOX_MS / 1000} s each)`,
  );
  const model = CausalLM.init(d, 1);
  const rng = new Random(7);
  try {
    for (const context of CONTEXTS) {
      // the prompt and the two warm-up tokens fill the context
      const prompt = Int32Array.from({ length: context - 2 }, () => rng.int(d.vocab_size));
      const cachedDecoder = new KVCacheDecoder(model);
      const cached = await decodeRate(cachedDecoder, prompt);
      cachedDecoder.dispose();
      const fullDecoder = new FullPrefixDecoder(model);
      const full = await decodeRate(fullDecoder, prompt);
      fullDecoder.dispose();
      report(
        `  context ${String(context).padStart(3)}: KV cache ${cached.tokensPerSecond.toFixed(2)} tok/s (${cached.tokens} tokens, ${(cached.ms / cached.tokens).toFixed(1)} ms/token), ` +
          `full prefix ${full.tokensPerSecond.toFixed(2)} tok/s (${full.tokens} tokens, ${(full.ms / full.tokens).toFixed(1)} ms/token), ` +
          `cache ${(cached.tokensPerSecond / full.tokensPerSecond).toFixed(1)}× faster`,
        {
          context,
          kv_cache_tokens_per_s: cached.tokensPerSecond,
          full_prefix_tokens_per_s: full.tokensPerSecond,
          kv_cache_tokens: cached.tokens,
          full_prefix_tokens: full.tokens,
        },
      );
    }
  } finally {
    model.dispose();
  }
}
