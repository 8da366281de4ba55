// Peak memory of a training step, measured: the most bytes of GPU buffers in use at once during forward, backward
// and the AdamW update (what the GPU must have room for), tfjs's own peak count of tensor bytes (higher: a buffer
// shared by several tensors counts once per tensor), and what the buffer pool holds afterwards, with and without
// gradient checkpointing, beside the estimate the page shows and its ratio to the measured buffers; then the freeing
// backward (the trainer's) against tfjs's own: the peak of each, whether they gave the GPU the same dispatches, and
// their step times in back-to-back pairs.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { estimateTrainingMemory } from '../src/core/model/memory.ts';
import type { LlamaDims } from '../src/core/model/families/llama_config.ts';
import { DEFAULT_LORA_CONFIG } from '../src/core/model/lora/config.ts';
import { loraTrainingTerms } from '../src/core/train/lora_training.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { GPT2_VOCAB_SIZE } from '../src/core/model/families/gpt2_config.ts';
import type { ModelDims } from '../src/core/model/families/index.ts';
import { CausalLM } from '../src/core/model/causal_lm.ts';
import type { BackwardKind } from '../src/core/model/backward.ts';
import { adamwKindFor } from '../src/core/model/memory.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { Random } from '../src/core/util/random.ts';
import { measureTrainingStep, type StepMemory } from './memory_probe.ts';
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
  const terms = loraTrainingTerms(QWEN2_5_0_5B, config);
  const opts = { checkpoint: true };
  return {
    terms,
    lora: estimateTrainingMemory(QWEN2_5_0_5B, 4, 256, { ...opts, lora: terms }),
    full: estimateTrainingMemory(QWEN2_5_0_5B, 4, 256, opts),
  };
}

interface MemoryCase {
  label: string;
  dims: ModelDims;
  B: number;
  T: number;
  /** time the two backwards' steps on a software adapter too (a step of a few seconds there) */
  timeOnSoftware?: boolean;
}

const SMOLLM2_VOCAB = 49152;
const SMALL: MemoryCase = {
  label: 'small (2 × 128, vocab 96), batch 8 × block 64',
  dims: { vocab_size: 96, n_positions: 64, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 },
  B: 8,
  T: 64,
  timeOnSoftware: true,
};
/** A case at batch 4 × block 128, as the real-GPU figures are quoted. */
const at4x128 = (label: string, dims: ModelDims, timeOnSoftware = false): MemoryCase => ({
  label: `${label}, batch 4 × block 128`,
  dims,
  B: 4,
  T: 128,
  timeOnSoftware,
});
const MINI = at4x128('GPT-2 mini (6 × 384, GPT-2 vocab)', presetDims('mini', GPT2_VOCAB_SIZE));
const LLAMA_TINY = at4x128('llama-tiny (vocab 49152)', presetDims('llama-tiny', SMOLLM2_VOCAB), true);
const GPT2 = at4x128('GPT-2 124M', presetDims('gpt2', GPT2_VOCAB_SIZE));
const SMOLLM2 = at4x128('SmolLM2-135M shape', presetDims('smollm2-135m', SMOLLM2_VOCAB));

export async function benchMemory(report: Report): Promise<void> {
  const ctx = await initTf();
  const realGpu = !ctx.info.software;
  const large = realGpu || !!process.env.HEARTH_BENCH_GPT2;
  // Each (case, checkpointing, backward) is measured once: the estimate's lines and the backwards' share them.
  const measured = new Map<string, StepMemory>();
  const measure = async (c: MemoryCase, checkpoint: boolean, backward: BackwardKind) => {
    const key = `${c.label}|${checkpoint}|${backward}`;
    let m = measured.get(key);
    if (!m) measured.set(key, (m = await measureTrainingStep(c.dims, c.B, c.T, { checkpoint, backward })));
    return m;
  };
  report(`training-step memory on ${describeGpu(ctx)} (AdamW as the trainer chooses: packed up to 50 M parameters)`);
  for (const c of large ? [SMALL, MINI, GPT2] : [SMALL, MINI]) {
    for (const checkpoint of [false, true]) {
      const m = await measure(c, checkpoint, 'freeing');
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
  await benchBackwards(report, realGpu, large ? [MINI, LLAMA_TINY, GPT2, SMOLLM2] : [SMALL, MINI, LLAMA_TINY], measure);
}

const BACKWARDS: BackwardKind[] = ['tfjs', 'freeing'];

interface PairedSteps {
  pairs: number;
  /** per backward (BACKWARDS' order): median ms of a whole step (forward, backward, AdamW, the loss read) */
  stepMs: number[];
  /** per backward: median ms to record a step on the CPU, before waiting for the GPU */
  recordMs: number[];
  /** median over pairs of (freeing step / tfjs step), each pair's two steps run back to back */
  ratio: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Steps with each backward in pairs, back to back (which one goes first alternates), after `warmup` pairs: a change
 * in machine load hits both steps of a pair, so the median of the pairs' ratios is the figure to read.
 */
async function pairedSteps(c: MemoryCase, warmup: number, pairs: number): Promise<PairedSteps> {
  const rng = new Random(2);
  const tokens = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  const targets = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  const model = CausalLM.init(c.dims, 1);
  const optimizer = new AdamW(model.params, { multiTensor: adamwKindFor(c.dims) === 'packed' });
  const step = BACKWARDS.map(() => [] as number[]);
  const record = BACKWARDS.map(() => [] as number[]);
  try {
    for (let i = 0; i < warmup + pairs; i++) {
      const order = i % 2 ? [1, 0] : [0, 1];
      for (const k of order) {
        const t0 = performance.now();
        const r = model.lossAndGrads(tokens, targets, c.B, c.T, { backward: BACKWARDS[k], dropoutSeed: i });
        const norm = optimizer.apply(r.grads, 1e-5);
        const recorded = performance.now();
        await r.loss.data();
        if (i >= warmup) {
          step[k].push(performance.now() - t0);
          record[k].push(recorded - t0);
        }
        tf.dispose([r.loss, norm, ...r.grads.values()]);
      }
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return {
    pairs,
    stepMs: step.map(median),
    recordMs: record.map(median),
    ratio: median(step[1].map((ms, i) => ms / step[0][i])),
  };
}

/**
 * The freeing backward against tfjs's: measured peak with and without checkpointing, whether the GPU was given the
 * same dispatches, and the step time of each.
 */
async function benchBackwards(
  report: Report,
  realGpu: boolean,
  cases: MemoryCase[],
  measure: (c: MemoryCase, checkpoint: boolean, backward: BackwardKind) => Promise<StepMemory>,
): Promise<void> {
  report('the freeing backward (the default) against tfjs’s own: peak of GPU buffers, dispatches, step time');
  for (const c of cases) {
    for (const checkpoint of [false, true]) {
      const a = await measure(c, checkpoint, 'tfjs');
      const b = await measure(c, checkpoint, 'freeing');
      const same = a.dispatches.length === b.dispatches.length && a.dispatches.every((d, i) => d === b.dispatches[i]);
      const timed = !checkpoint && (realGpu || c.timeOnSoftware);
      const t = timed ? await pairedSteps(c, realGpu ? 2 : 1, realGpu ? 10 : c === SMALL ? 20 : 3) : null;
      report(
        `  ${c.label}${checkpoint ? ', gradient checkpointing' : ''}: peak ${(a.buffers / MiB).toFixed(1)} MiB with ` +
          `tfjs's backward, ${(b.buffers / MiB).toFixed(1)} MiB freeing (${(100 * (1 - b.buffers / a.buffers)).toFixed(1)}% ` +
          `lower); ${b.dispatches.length} dispatches, ${same ? 'the same' : 'NOT the same'} as tfjs's` +
          (t
            ? `; step ${t.stepMs[0].toFixed(0)} vs ${t.stepMs[1].toFixed(0)} ms freeing, ratio ${t.ratio.toFixed(3)} ` +
              `(median of ${t.pairs} back-to-back pairs), recording ${t.recordMs[0].toFixed(1)} vs ` +
              `${t.recordMs[1].toFixed(1)} ms`
            : ''),
        {
          case: c.label,
          B: c.B,
          T: c.T,
          checkpointing: checkpoint,
          peak_tfjs_bytes: a.buffers,
          peak_freeing_bytes: b.buffers,
          peak_reduction: 1 - b.buffers / a.buffers,
          dispatches: b.dispatches.length,
          same_dispatches: same,
          pairs: t ? t.pairs : null,
          step_ms_tfjs: t ? t.stepMs[0] : null,
          step_ms_freeing: t ? t.stepMs[1] : null,
          step_time_ratio: t ? t.ratio : null,
          record_ms_tfjs: t ? t.recordMs[0] : null,
          record_ms_freeing: t ? t.recordMs[1] : null,
        },
      );
    }
  }
}
