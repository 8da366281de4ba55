// Matmul benchmark: Hearth's kernel against tfjs's own tf.matMul on the same device in the same run, at
// GPT shapes (B·T, C)×(C, 4C) (the MLP's c_fc). Also the fused bias + GELU epilogue against the same
// thing made of stock ops (matMul, add, gelu_new from elementwise ops), as the stock-ops model runs it.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { maxRelDiff, secondsPerCall } from './timing.ts';
import { matmul } from '../src/core/kernels/matmul/index.ts';
import { stockOps } from '../src/core/model/stock_ops.ts';
import { describePeak, peakOf, shareOfPeak } from './peak.ts';
import type { Report, SectionOptions } from './report.ts';

interface Shape {
  M: number; // B·T
  C: number;
}

// SwiftShader runs at a fraction of a GFLOP/s, so there C = 768 gets a short batch to keep the module
// near a minute; a real GPU needs large products before its time is more than launch overhead.
const SOFTWARE_SHAPES: Shape[] = [
  { M: 512, C: 64 },
  { M: 512, C: 128 },
  { M: 64, C: 768 },
];
const GPU_SHAPES: Shape[] = [
  { M: 512, C: 64 },
  { M: 512, C: 128 },
  { M: 512, C: 768 },
  { M: 4096, C: 768 },
];
const QUICK_SHAPES: Shape[] = [{ M: 64, C: 64 }];

export async function benchMatmul(report: Report, { quick }: SectionOptions = { quick: false }): Promise<void> {
  const ctx = await initTf();
  const shapes = quick ? QUICK_SHAPES : ctx.info.software ? SOFTWARE_SHAPES : GPU_SHAPES;
  const batch = quick ? { calls: 2 } : { seconds: ctx.info.software ? 1 : 0.5 };
  const peak = peakOf(ctx.info);
  report(
    `matmul on ${describeGpu(ctx)}; (B·T, C)×(C, 4C), GFLOP/s = 2·M·K·N / time, synced, after warmup; ${describePeak(peak)}`,
  );
  report(
    `  ${'M×K×N'.padEnd(16)} ${'ours'.padStart(8)} ${'tf.matMul'.padStart(10)} ${'ratio'.padStart(7)}` +
      `   ${'ours+bias+gelu'.padStart(14)} ${'stock ops'.padStart(10)} ${'ratio'.padStart(7)}   max rel diff`,
  );
  for (const { M, C } of shapes) {
    const [K, N] = [C, 4 * C];
    const x = tf.randomNormal([M, K], 0, 1) as tf.Tensor2D;
    const w = tf.randomNormal([K, N], 0, 0.02) as tf.Tensor2D;
    const bias = tf.randomNormal([N], 0, 0.02) as tf.Tensor1D;
    const ours = () => matmul(x, w);
    const stock = () => tf.matMul(x, w);
    const oursFused = () => matmul(x, w, { bias, activation: 'gelu' });
    const stockFused = () => stockOps.matmul(x, w, { bias, activation: 'gelu' });

    // A benchmark of wrong answers measures nothing: check both pairs agree first.
    const pairs = [
      [ours(), stock()],
      [oursFused(), stockFused()],
    ];
    const diff = Math.max(...(await Promise.all(pairs.map(([p, q]) => maxRelDiff(p, q)))));
    tf.dispose(pairs.flat());

    const gflops = (seconds: number) => (2 * M * K * N) / seconds / 1e9;
    const [o, s, of, sf] = [
      gflops(await secondsPerCall(ctx, ours, batch)),
      gflops(await secondsPerCall(ctx, stock, batch)),
      gflops(await secondsPerCall(ctx, oursFused, batch)),
      gflops(await secondsPerCall(ctx, stockFused, batch)),
    ];
    const g = (v: number, width: number) => (v < 10 ? v.toFixed(3) : v.toFixed(1)).padStart(width);
    report(
      `  ${`${M}×${K}×${N}`.padEnd(16)} ${g(o, 8)} ${g(s, 10)} ${`×${(o / s).toFixed(2)}`.padStart(7)}` +
        `   ${g(of, 14)} ${g(sf, 10)} ${`×${(of / sf).toFixed(2)}`.padStart(7)}   ${diff.toExponential(1)}` +
        (peak ? `   ours ${shareOfPeak(o, peak)}` : ''),
      {
        M,
        K,
        N,
        ours_gflops: o,
        tf_matmul_gflops: s,
        ours_bias_gelu_gflops: of,
        stock_bias_gelu_gflops: sf,
        max_rel_diff: diff,
        ours_share_of_peak: peak ? o / (peak.tflops * 1000) : null,
      },
    );
    tf.dispose([x, w, bias]);
  }
  ctx.throwIfErrors();
}
