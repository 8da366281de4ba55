// Train-step benchmark: the same step (forward, backward, AdamW) with Hearth's kernels, with Hearth's kernels but
// without the step-level fusions (residual add + LayerNorm, the fused mean loss, the one-dispatch AdamW), and with
// stock tfjs ops, on the same device in one run. The small configs (2 layers, 128 wide, 4 heads, block 64, batch 8, a
// character-level vocabulary; GPT-2's block, and a Llama block of the same size: RMSNorm, RoPE, SwiGLU, grouped-query
// attention) run everywhere, SwiftShader included; on a real GPU also GPT-2 124M and SmolLM2-135M's shape at batch 4
// × block 128, where the kernels' share of the card's peak means something.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { CausalLM } from '../src/core/model/causal_lm.ts';
import { parameterCount, type ModelDims } from '../src/core/model/families/index.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { GPT2_VOCAB_SIZE } from '../src/core/model/families/gpt2_config.ts';
import { kernelOps } from '../src/core/model/kernel_ops.ts';
import { stockOps } from '../src/core/model/stock_ops.ts';
import type { Ops } from '../src/core/model/ops.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { Random } from '../src/core/util/random.ts';
import { describePeak, peakOf, shareOfPeak, trainingFlopsPerToken } from './peak.ts';
import type { Report } from './report.ts';
import type { LoraConfig } from '../src/core/model/lora/config.ts';

export interface BenchCase {
  label: string;
  dims: ModelDims;
  B: number;
  T: number;
}

export const SMALL_CONFIG: BenchCase = {
  label: '2 layers × 128 wide, 4 heads, block 64, batch 8, vocab 96 (char)',
  dims: { vocab_size: 96, n_positions: 64, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 },
  B: 8,
  T: 64,
};

/** SMALL_CONFIG's size as a Llama: 2 of the 4 heads' keys and values (GQA), SwiGLU at 2/3 of 4·128 (rounded up). */
const SMALL_LLAMA_CONFIG: BenchCase = {
  label: 'Llama-style: 2 layers × 128 wide, 4 heads (2 kv), block 64, batch 8, vocab 96 (char)',
  dims: {
    model_type: 'llama',
    vocab_size: 96,
    max_position_embeddings: 64,
    hidden_size: 128,
    intermediate_size: 344,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
  },
  B: 8,
  T: 64,
};

export interface Contender {
  label: string;
  ops: Ops;
  multiTensor: boolean;
  /** a new LoRA adapter on the frozen model: AdamW over the adapter alone, as the trainer runs it */
  lora?: LoraConfig;
  /** with lora: the frozen linear weights held in f16 (attachLora's halfBase) */
  halfBase?: boolean;
}

/** Hearth's kernels with the step-level fusions taken out, so the bench shows what the fusions are worth. */
export const unfusedKernelOps: Ops = {
  ...kernelOps,
  name: 'hearth kernels, unfused',
  addLayerNorm: undefined,
  crossEntropyMean: undefined,
};

const CONTENDERS: Contender[] = [
  { label: 'hearth kernels', ops: kernelOps, multiTensor: true },
  { label: 'hearth, no fusions', ops: unfusedKernelOps, multiTensor: false },
  { label: 'stock tfjs ops', ops: stockOps, multiTensor: false },
];

interface Timing {
  /** best whole step (recording, GPU work, loss read), ms */
  ms: number;
  /** CPU time to record the best step's work (before waiting for the GPU), ms */
  recordMs: number;
  /** the loss of the last step: the same for every contender, since all run the same steps */
  loss: number;
}

/**
 * Best-of-`steps` ms per training step for each contender, after warmup, alternating contenders step by step so a
 * change in machine load hits all of them; the best rather than the mean because other load only ever adds time.
 * Each step ends with a read of its loss.
 */
export async function stepTimes(
  c: BenchCase,
  contenders: Contender[],
  warmup: number,
  steps: number,
): Promise<Timing[]> {
  const rng = new Random(2);
  const tokens = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  const targets = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  const runs = contenders.map((k) => {
    const model = CausalLM.init(c.dims, 1);
    if (k.lora) model.attachLora(k.lora, { seed: 3, halfBase: k.halfBase });
    const opt = new AdamW(model.trainable, { weightDecay: 0.01, multiTensor: k.multiTensor });
    return { model, opt, ops: k.ops, best: { ms: Infinity, recordMs: 0, loss: NaN } as Timing };
  });
  for (let i = 0; i < warmup + steps; i++) {
    for (const r of runs) {
      const t0 = performance.now();
      const { loss, grads } = r.model.lossAndGrads(tokens, targets, c.B, c.T, { ops: r.ops });
      const norm = r.opt.apply(grads, 1e-3);
      const recorded = performance.now();
      const value = (await loss.data())[0];
      const ms = performance.now() - t0;
      if (i >= warmup && ms < r.best.ms) r.best = { ...r.best, ms, recordMs: recorded - t0 };
      r.best.loss = value;
      tf.dispose([loss, norm, ...grads.values()]);
    }
  }
  for (const r of runs) {
    r.opt.dispose();
    r.model.dispose();
  }
  return runs.map((r) => r.best);
}

export async function benchTrainStep(report: Report): Promise<void> {
  const ctx = await initTf();
  const peak = peakOf(ctx.info);
  report(`train step on ${describeGpu(ctx)}; best of the timed steps, contenders alternating step by step`);
  report(
    `  model FLOPs = 6·(params − wpe) + 12·n_layer·n_embd·T per token (PaLM, nanoGPT); MFU against the ${describePeak(peak)}`,
  );
  const cases: BenchCase[] = [SMALL_CONFIG, SMALL_LLAMA_CONFIG];
  if (!ctx.info.software)
    cases.push(
      { label: 'GPT-2 124M, batch 4 × block 128', dims: presetDims('gpt2', GPT2_VOCAB_SIZE), B: 4, T: 128 },
      { label: 'SmolLM2-135M shape, batch 4 × block 128', dims: presetDims('smollm2-135m', 49152), B: 4, T: 128 },
    );
  for (const c of cases) {
    const steps = ctx.info.software ? 3 : 20;
    const warmup = ctx.info.software ? 1 : 3;
    const times = await stepTimes(c, CONTENDERS, warmup, steps);
    const tokens = c.B * c.T;
    const flops = trainingFlopsPerToken(c.dims, c.T) * tokens;
    report(`  ${c.label} (${(parameterCount(c.dims) / 1e6).toFixed(2)} M params)`);
    CONTENDERS.forEach((k, i) => {
      const t = times[i];
      const gflops = flops / (t.ms / 1000) / 1e9;
      const mfu = peak ? `, MFU ${shareOfPeak(gflops, peak).replace(' of peak', '')}` : '';
      report(
        `    ${k.label.padEnd(20)} ${t.ms.toFixed(1).padStart(8)} ms/step (${t.recordMs.toFixed(1)} ms recording), ` +
          `${(tokens / (t.ms / 1000)).toFixed(0)} tokens/s, ${gflops.toFixed(2)} GFLOP/s model${mfu}, loss ${t.loss.toFixed(4)}`,
        {
          case: c.label,
          params: parameterCount(c.dims),
          B: c.B,
          T: c.T,
          contender: k.label,
          ms_per_step: t.ms,
          record_ms: t.recordMs,
          tokens_per_s: tokens / (t.ms / 1000),
          model_gflops: gflops,
          mfu: peak ? gflops / (peak.tflops * 1000) : null,
          loss: t.loss,
        },
      );
    });
    report(
      `    speed-up over stock: ×${(times[2].ms / times[0].ms).toFixed(2)}; fusions: ×${(times[1].ms / times[0].ms).toFixed(2)}`,
    );
  }
}
