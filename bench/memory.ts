// Peak memory of a training step, measured: the most bytes of tensors alive at once during forward, backward and
// the AdamW update (tfjs's own count, via tf.profile), and what the buffer pool holds afterwards (what the GPU
// actually gave us), with and without gradient checkpointing, beside the estimate the page shows.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { GPT } from '../src/core/model/gpt.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { estimateTrainingMemory, presetDims, type GPTDims } from '../src/core/model/config.ts';
import { Random } from '../src/core/util/random.ts';

const MiB = 2 ** 20;

async function measure(dims: GPTDims, B: number, T: number, checkpoint: boolean) {
  const model = GPT.init(dims, 1);
  const opt = new AdamW(model.params);
  const rng = new Random(3);
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(dims.vocab_size));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(dims.vocab_size));
  const step = async () => {
    const r = model.lossAndGrads(tokens, targets, B, T, { checkpoint });
    const norm = opt.apply(r.grads, 1e-4);
    await r.loss.data();
    tf.dispose([r.loss, norm, ...r.grads.values()]);
  };
  await step(); // moments exist from here on, as in every later step
  const info = await tf.profile(step);
  const pool = (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? NaN;
  opt.dispose();
  model.dispose();
  return { peak: info.peakBytes, pool };
}

export async function benchMemory(report: (line: string) => void): Promise<void> {
  const ctx = await initTf();
  report(`training-step memory on ${describeGpu(ctx)}`);
  const cases: { label: string; dims: GPTDims; B: number; T: number }[] = [
    { label: 'small (2 × 128, vocab 96), batch 8 × block 64', dims: { vocab_size: 96, n_positions: 64, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 }, B: 8, T: 64 },
    { label: 'mini (6 × 384, GPT-2 vocab), batch 4 × block 128', dims: { ...presetDims('mini', 50257) }, B: 4, T: 128 },
  ];
  if (!ctx.info.software || process.env.HEARTH_BENCH_GPT2) cases.push({ label: 'GPT-2 124M, batch 4 × block 128', dims: presetDims('gpt2', 50257), B: 4, T: 128 });
  for (const c of cases) {
    for (const checkpoint of [false, true]) {
      const m = await measure(c.dims, c.B, c.T, checkpoint);
      const est = estimateTrainingMemory(c.dims, c.B, c.T, { checkpoint });
      report(`  ${c.label}${checkpoint ? ', gradient checkpointing' : ''}: peak ${(m.peak / MiB).toFixed(1)} MiB of tensors, buffer pool ${(m.pool / MiB).toFixed(1)} MiB, estimate ${(est.total / MiB).toFixed(1)} MiB`);
    }
  }
}
