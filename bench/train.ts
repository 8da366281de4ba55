// Train-step benchmark: the same GPT-2 step (forward, backward, AdamW) with Hearth's kernels and with stock tfjs
// ops, on the same device in one run. Config from issue 8: 2 layers, 128 wide, 4 heads, block 64, batch 8, a
// character-level vocabulary. On a real GPU (never on SwiftShader) also GPT-2 124M at batch 4 × block 128.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { GPT } from '../src/core/model/gpt.ts';
import { kernelOps } from '../src/core/model/kernel_ops.ts';
import { stockOps } from '../src/core/model/stock_ops.ts';
import type { Ops } from '../src/core/model/ops.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { parameterCount, presetDims, type GPTDims } from '../src/core/model/config.ts';
import { Random } from '../src/core/util/random.ts';

interface Case {
  label: string;
  dims: GPTDims;
  B: number;
  T: number;
}

const SMALL: Case = {
  label: '2 layers × 128 wide, 4 heads, block 64, batch 8, vocab 96 (char)',
  dims: { vocab_size: 96, n_positions: 64, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 },
  B: 8,
  T: 64,
};

/** Milliseconds per training step, after warmup; each step ends with a read of its loss. */
async function stepTime(c: Case, ops: Ops, warmup: number, steps: number): Promise<{ ms: number; loss: number }> {
  const model = GPT.init(c.dims, 1);
  const opt = new AdamW(model.params, { weightDecay: 0.01 });
  const rng = new Random(2);
  const tokens = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  const targets = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  let total = 0;
  let loss = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const r = model.lossAndGrads(tokens, targets, c.B, c.T, { ops });
    const norm = opt.apply(r.grads, 1e-3);
    loss = (await r.loss.data())[0];
    if (i >= warmup) total += performance.now() - t0;
    tf.dispose([r.loss, norm, ...r.grads.values()]);
  }
  opt.dispose();
  model.dispose();
  return { ms: total / steps, loss };
}

export async function benchTrainStep(report: (line: string) => void, opts: { steps?: number } = {}): Promise<void> {
  const ctx = await initTf();
  report(`train step on ${describeGpu(ctx)}`);
  const cases: Case[] = [SMALL];
  if (!ctx.info.software) cases.push({ label: 'GPT-2 124M, batch 4 × block 128', dims: presetDims('gpt2', 50257), B: 4, T: 128 });
  for (const c of cases) {
    const steps = opts.steps ?? (ctx.info.software ? 3 : 20);
    const warmup = ctx.info.software ? 1 : 3;
    const ours = await stepTime(c, kernelOps, warmup, steps);
    const stock = await stepTime(c, stockOps, warmup, steps);
    const tokens = c.B * c.T;
    const flops = 6 * parameterCount(c.dims) * tokens; // forward + backward, the usual 6·N·tokens
    report(`  ${c.label} (${(parameterCount(c.dims) / 1e6).toFixed(2)} M params)`);
    report(`    hearth kernels: ${ours.ms.toFixed(1)} ms/step, ${(tokens / (ours.ms / 1000)).toFixed(0)} tokens/s, ${(flops / (ours.ms / 1000) / 1e9).toFixed(2)} GFLOP/s model`);
    report(`    stock tfjs ops: ${stock.ms.toFixed(1)} ms/step, ${(tokens / (stock.ms / 1000)).toFixed(0)} tokens/s`);
    report(`    speed-up: ×${(stock.ms / ours.ms).toFixed(2)}`);
  }
}
