// Peak memory of a training step, measured: the most bytes of GPU buffers in use at once during forward, backward
// and the AdamW update (what the GPU must have room for), tfjs's own peak count of tensor bytes (higher: a buffer
// shared by several tensors counts once per tensor), and what the buffer pool holds afterwards, with and without
// gradient checkpointing, beside the estimate the page shows and its ratio to the measured buffers.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { estimateTrainingMemory } from '../src/core/model/memory.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { GPT2_VOCAB_SIZE } from '../src/core/model/families/gpt2_config.ts';
import type { ModelDims } from '../src/core/model/families/index.ts';
import { measureTrainingStep } from './memory_probe.ts';
import type { Report } from './report.ts';

const MiB = 2 ** 20;

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
}
