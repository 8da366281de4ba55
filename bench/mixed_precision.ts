// Mixed precision (fp16) against f32, on the same device in one run: the training step of the small config (and
// GPT-2 124M on a real GPU), and the matmul alone at the MLP's c_fc shape. fp16 here is Hearth's packed path (f16
// stored two per u32, unpacked with core WGSL), which every adapter runs: it halves the bytes the matmuls and the
// attention read, and adds a cast pass per operand. On SwiftShader (a CPU) bytes are cheap and unpacking is not, so
// expect no gain there; the figure that matters is a real GPU's.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { secondsPerCall } from './timing.ts';
import { describeGpu, type GpuContext } from '../src/core/gpu/device.ts';
import { CausalLM } from '../src/core/model/causal_lm.ts';
import { parameterCount, type ModelDims } from '../src/core/model/families/index.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { GPT2_VOCAB_SIZE } from '../src/core/model/families/gpt2_config.ts';
import { kernelOps } from '../src/core/model/kernel_ops.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { MixedPrecision } from '../src/core/train/mixed_precision.ts';
import { matmul } from '../src/core/kernels/matmul/index.ts';
import { castToHalfUntracked } from '../src/core/kernels/half/index.ts';
import { Random } from '../src/core/util/random.ts';
import type { Report } from './report.ts';

interface Case {
  label: string;
  dims: ModelDims;
  B: number;
  T: number;
}

const SMALL: Case = {
  label: '2 layers × 128 wide, 4 heads, block 64, batch 8, vocab 96 (char)',
  dims: { vocab_size: 96, n_positions: 64, n_embd: 128, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5 },
  B: 8,
  T: 64,
};

/** A training run that can take one step at a time, f32 or fp16, on fixed random data. */
function trainer(c: Case, fp16: boolean) {
  const model = CausalLM.init(c.dims, 1);
  const opt = new AdamW(model.params, { weightDecay: 0.01 });
  const mp = fp16 ? new MixedPrecision() : null;
  const rng = new Random(2);
  const tokens = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  const targets = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  return {
    /** one step ending with a read of its loss; returns [ms, loss] */
    async step(): Promise<[number, number]> {
      const t0 = performance.now();
      const r = model.lossAndGrads(tokens, targets, c.B, c.T, { ops: mp ? mp.ops : kernelOps });
      const norm = opt.apply(r.grads, 1e-3, mp?.scaler);
      mp?.endStep();
      const loss = (await r.loss.data())[0];
      tf.dispose([r.loss, norm, ...r.grads.values()]);
      return [performance.now() - t0, loss];
    },
    dispose() {
      mp?.dispose();
      opt.dispose();
      model.dispose();
    },
  };
}

async function benchSteps(c: Case, software: boolean, report: Report): Promise<void> {
  const f32 = trainer(c, false);
  const fp16 = trainer(c, true);
  const steps = software ? 4 : 20;
  // Warm up both (pipelines compile), then alternate steps so that a busy machine slows both alike.
  for (let i = 0; i < (software ? 1 : 3); i++) {
    await f32.step();
    await fp16.step();
  }
  const times = { f32: [] as number[], fp16: [] as number[] };
  const losses = { f32: NaN, fp16: NaN };
  for (let i = 0; i < steps; i++) {
    [times.f32[i], losses.f32] = await f32.step();
    [times.fp16[i], losses.fp16] = await fp16.step();
  }
  f32.dispose();
  fp16.dispose();
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const tokens = c.B * c.T;
  const line = (label: string, ms: number, loss: number) =>
    report(
      `    ${label}: ${ms.toFixed(1)} ms/step, ${(tokens / (ms / 1000)).toFixed(0)} tokens/s, loss after ${steps} steps ${loss.toFixed(4)}`,
      {
        case: c.label,
        params: parameterCount(c.dims),
        precision: label.trim(),
        ms_per_step: ms,
        tokens_per_s: tokens / (ms / 1000),
        steps,
        loss,
      },
    );
  report(`  ${c.label} (${(parameterCount(c.dims) / 1e6).toFixed(2)} M params)`);
  line('f32 ', mean(times.f32), losses.f32);
  line('fp16', mean(times.fp16), losses.fp16);
  report(`    fp16 speed-up: ×${(mean(times.f32) / mean(times.fp16)).toFixed(2)}`, {
    case: c.label,
    fp16_speedup: mean(times.f32) / mean(times.fp16),
  });
}

async function benchMatmuls(ctx: GpuContext, report: Report): Promise<void> {
  const shapes = ctx.info.software
    ? [
        { M: 512, C: 128 },
        { M: 64, C: 768 },
      ]
    : [
        { M: 512, C: 768 },
        { M: 4096, C: 768 },
      ];
  const batch = { calls: ctx.info.software ? 3 : 50 };
  report(`  matmul (B·T, C)×(C, 4C), GFLOP/s; fp16 includes casting A each call, B cast once (as in training)`);
  for (const { M, C } of shapes) {
    const [K, N] = [C, 4 * C];
    const x = tf.randomNormal([M, K]) as tf.Tensor2D;
    const w = tf.randomNormal([K, N], 0, 0.02) as tf.Tensor2D;
    const wHalf = castToHalfUntracked(w);
    const gflops = (s: number) => (2 * M * K * N) / s / 1e9;
    const f32 = gflops(await secondsPerCall(ctx, () => matmul(x, w), batch));
    const fp16 = gflops(await secondsPerCall(ctx, () => matmul(x, w, { half: true, bHalf: wHalf }), batch));
    report(
      `    ${`${M}×${K}×${N}`.padEnd(14)} f32 ${f32.toFixed(2).padStart(8)}   fp16 ${fp16.toFixed(2).padStart(8)}   ×${(fp16 / f32).toFixed(2)}`,
      { M, K, N, f32_gflops: f32, fp16_gflops: fp16, fp16_speedup: fp16 / f32 },
    );
    tf.dispose([x, w, wHalf]);
  }
}

export async function benchMixedPrecision(report: Report): Promise<void> {
  const ctx = await initTf();
  report(`fp16 (packed f16 operands, f32 accumulation, dynamic loss scaling) vs f32 on ${describeGpu(ctx)}`);
  const cases = [SMALL];
  if (!ctx.info.software)
    cases.push({ label: 'GPT-2 124M, batch 4 × block 128', dims: presetDims('gpt2', GPT2_VOCAB_SIZE), B: 4, T: 128 });
  for (const c of cases) await benchSteps(c, ctx.info.software, report);
  await benchMatmuls(ctx, report);
  ctx.throwIfErrors();
}
