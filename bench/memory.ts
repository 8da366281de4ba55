// Peak memory of a training step, measured: the most bytes of GPU buffers in use at once during forward, backward
// and the AdamW update (what the GPU must have room for), tfjs's own peak count of tensor bytes (higher: a buffer
// shared by several tensors counts once per tensor), and what the buffer pool holds afterwards, with and without
// gradient checkpointing, beside the estimate the page shows and its ratio to the measured buffers; then the freeing
// backward (the trainer's) against tfjs's own: peak and step time of each.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { estimateTrainingMemory } from '../src/core/model/memory.ts';
import { familyOf } from '../src/core/model/families/index.ts';
import type { LlamaDims } from '../src/core/model/families/llama_config.ts';
import { DEFAULT_LORA_CONFIG, loraMemoryTerms } from '../src/core/model/lora/config.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { GPT2_VOCAB_SIZE } from '../src/core/model/families/gpt2_config.ts';
import type { ModelDims } from '../src/core/model/families/index.ts';
import { CausalLM } from '../src/core/model/causal_lm.ts';
import type { BackwardKind } from '../src/core/model/backward.ts';
import { adamwKindFor } from '../src/core/model/memory.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { Random } from '../src/core/util/random.ts';
import { measureTrainingStep } from './memory_probe.ts';
import type { Report } from './report.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Qwen/Qwen2.5-0.5B's shape (config.json): Qwen2, q, k and v biases, grouped-query attention, tied embeddings. */
export const QWEN2_5_0_5B: LlamaDims = {
  model_type: 'qwen2',
  vocab_size: 151936,
  max_position_embeddings: 32768,
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
};

/**
 * The estimate for Qwen2.5-0.5B at batch 4 × block 256 with gradient checkpointing: LoRA r 8 (alpha 16) on the
 * attention projections with the base in f16, as the CLI and the page train it, and full fine-tuning beside it.
 */
export function qwenLoraEstimates() {
  const config = {
    ...DEFAULT_LORA_CONFIG,
    r: 8,
    lora_alpha: 16,
    target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  };
  const terms = loraMemoryTerms(familyOf(QWEN2_5_0_5B), QWEN2_5_0_5B, config, { halfBase: true });
  const opts = { checkpoint: true };
  return {
    terms,
    lora: estimateTrainingMemory(QWEN2_5_0_5B, 4, 256, { ...opts, lora: terms }),
    full: estimateTrainingMemory(QWEN2_5_0_5B, 4, 256, opts),
  };
}

export async function benchMemory(report: Report): Promise<void> {
  const ctx = await initTf();
  report(`training-step memory on ${describeGpu(ctx)} (AdamW as the trainer chooses: packed up to 50 M parameters)`);
  const cases: { label: string; dims: ModelDims; B: number; T: number }[] = [
    {
      label: 'small (2 × 128, vocab 96), batch 8 × block 64',
      dims: { vocab_size: 96, n_positions: 64, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 },
      B: 8,
      T: 64,
    },
    {
      label: 'mini (6 × 384, GPT-2 vocab), batch 4 × block 128',
      dims: { ...presetDims('mini', GPT2_VOCAB_SIZE) },
      B: 4,
      T: 128,
    },
  ];
  if (!ctx.info.software || process.env.HEARTH_BENCH_GPT2)
    cases.push({ label: 'GPT-2 124M, batch 4 × block 128', dims: presetDims('gpt2', GPT2_VOCAB_SIZE), B: 4, T: 128 });
  for (const c of cases) {
    for (const checkpoint of [false, true]) {
      const m = await measureTrainingStep(c.dims, c.B, c.T, { checkpoint });
      const pool = (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? NaN;
      const est = estimateTrainingMemory(c.dims, c.B, c.T, { checkpoint });
      report(
        `  ${c.label}${checkpoint ? ', gradient checkpointing' : ''}: peak ${(m.buffers / MiB).toFixed(1)} MiB of buffers ` +
          `(${(m.tensors / MiB).toFixed(1)} MiB of tensors), buffer pool ${(pool / MiB).toFixed(1)} MiB; ` +
          `estimate ${(est.total / MiB).toFixed(1)} MiB, ${(est.total / m.buffers).toFixed(2)}× the buffers`,
        {
          case: c.label,
          B: c.B,
          T: c.T,
          checkpointing: checkpoint,
          peak_buffer_bytes: m.buffers,
          peak_tensor_bytes: m.tensors,
          pool_bytes: pool,
          estimate_bytes: est.total,
          estimate_over_peak: est.total / m.buffers,
        },
      );
    }
  }
  const q = qwenLoraEstimates();
  report(
    `  Qwen2.5-0.5B, batch 4 × block 256, gradient checkpointing (estimate only): LoRA r 8 on q, k, v, o_proj with ` +
      `the base in f16 ${(q.lora.total / GiB).toFixed(2)} GiB (weights ${(q.lora.weights / GiB).toFixed(2)} GiB, ` +
      `${q.terms.parameters} trained); full fine-tuning ${(q.full.total / GiB).toFixed(2)} GiB ` +
      `(${(q.full.total / q.lora.total).toFixed(1)}× LoRA's)`,
    {
      case: 'Qwen2.5-0.5B LoRA vs full (estimate)',
      B: 4,
      T: 256,
      checkpointing: true,
      lora_estimate_bytes: q.lora.total,
      lora_weights_bytes: q.lora.weights,
      lora_trained_parameters: q.terms.parameters,
      full_estimate_bytes: q.full.total,
      full_over_lora: q.full.total / q.lora.total,
    },
  );
  await benchBackwards(report, !ctx.info.software);
}

const BACKWARDS: BackwardKind[] = ['tfjs', 'freeing'];

/**
 * Best-of-`steps` ms per training step (forward, backward, AdamW, the loss read) with each backward, alternating
 * step by step so that a change in machine load hits both; the best because other load only ever adds time.
 */
async function stepMs(dims: ModelDims, B: number, T: number, warmup: number, steps: number): Promise<number[]> {
  const rng = new Random(2);
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(dims.vocab_size));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(dims.vocab_size));
  const model = CausalLM.init(dims, 1);
  const optimizer = new AdamW(model.params, { multiTensor: adamwKindFor(dims) === 'packed' });
  const best = BACKWARDS.map(() => Infinity);
  try {
    for (let i = 0; i < warmup + steps; i++) {
      for (const [k, backward] of BACKWARDS.entries()) {
        const t0 = performance.now();
        const r = model.lossAndGrads(tokens, targets, B, T, { backward, dropoutSeed: i });
        const norm = optimizer.apply(r.grads, 1e-5);
        await r.loss.data();
        if (i >= warmup) best[k] = Math.min(best[k], performance.now() - t0);
        tf.dispose([r.loss, norm, ...r.grads.values()]);
      }
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return best;
}

/** The freeing backward against tfjs's: measured peak and step time, with and without checkpointing for the peak. */
async function benchBackwards(report: Report, realGpu: boolean): Promise<void> {
  const SMOLLM2_VOCAB = 49152;
  report('the freeing backward (the default) against tfjs’s own: peak of GPU buffers and best step time');
  const cases: { label: string; dims: ModelDims; B: number; T: number }[] = [
    { label: 'GPT-2 mini (6 × 384), batch 4 × block 128', dims: presetDims('mini', GPT2_VOCAB_SIZE), B: 4, T: 128 },
    {
      label: 'llama-tiny (vocab 49152), batch 4 × block 128',
      dims: presetDims('llama-tiny', SMOLLM2_VOCAB),
      B: 4,
      T: 128,
    },
  ];
  if (realGpu || process.env.HEARTH_BENCH_GPT2) {
    cases.push(
      { label: 'GPT-2 124M, batch 4 × block 128', dims: presetDims('gpt2', GPT2_VOCAB_SIZE), B: 4, T: 128 },
      {
        label: 'SmolLM2-135M shape, batch 4 × block 128',
        dims: presetDims('smollm2-135m', SMOLLM2_VOCAB),
        B: 4,
        T: 128,
      },
    );
  }
  for (const c of cases) {
    for (const checkpoint of [false, true]) {
      const peaks: number[] = [];
      for (const backward of BACKWARDS)
        peaks.push((await measureTrainingStep(c.dims, c.B, c.T, { checkpoint, backward })).buffers);
      const ms = checkpoint ? null : await stepMs(c.dims, c.B, c.T, 1, realGpu ? 10 : 2);
      const [a, b] = peaks;
      report(
        `  ${c.label}${checkpoint ? ', gradient checkpointing' : ''}: peak ${(a / MiB).toFixed(1)} MiB with tfjs's ` +
          `backward, ${(b / MiB).toFixed(1)} MiB freeing (${(100 * (1 - b / a)).toFixed(1)}% lower)` +
          (ms
            ? `; step ${ms[0].toFixed(0)} ms vs ${ms[1].toFixed(0)} ms freeing (${(ms[1] / ms[0]).toFixed(2)}×)`
            : ''),
        {
          case: c.label,
          B: c.B,
          T: c.T,
          checkpointing: checkpoint,
          peak_tfjs_bytes: a,
          peak_freeing_bytes: b,
          peak_reduction: 1 - b / a,
          step_ms_tfjs: ms ? ms[0] : null,
          step_ms_freeing: ms ? ms[1] : null,
          step_time_ratio: ms ? ms[1] / ms[0] : null,
        },
      );
    }
  }
}
