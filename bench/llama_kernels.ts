// The Llama family's elementwise and row kernels (RMSNorm, RoPE, SwiGLU) against the same functions made of stock
// tfjs ops (HF's formulas), forward alone and forward + backward through tf.grads in both cases, on the same device
// in the same run. Each pair is checked to agree before it is timed.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { rmsNorm } from '../src/core/kernels/rmsnorm/index.ts';
import { stockRmsNorm } from '../src/core/kernels/rmsnorm/stock.ts';
import { rope, type RopeSpec } from '../src/core/kernels/rope/index.ts';
import { stockRope } from '../src/core/kernels/rope/stock.ts';
import { swiglu } from '../src/core/kernels/swiglu/index.ts';
import { stockSwiglu } from '../src/core/kernels/swiglu/stock.ts';
import { maxRelDiff, secondsPerCall } from './timing.ts';
import type { Report } from './report.ts';

// A llama-tiny-sized layer (B·T = 4·128 rows, hidden 256, 4 heads of 64, intermediate 704): small enough for
// SwiftShader, large enough that the kernels, not the dispatch overhead, dominate on a GPU.
const B = 4;
const T = 128;
const HIDDEN = 256;
const HEADS = 4;
const HEAD_DIM = 64;
const INTERMEDIATE = 704;
const EPS = 1e-5;

interface Case {
  name: string;
  /** the inputs that get gradients, then the upstream gradient */
  inputs: tf.Tensor[];
  dy: tf.Tensor;
  ours: (...xs: tf.Tensor[]) => tf.Tensor;
  stock: (...xs: tf.Tensor[]) => tf.Tensor;
}

function cases(): Case[] {
  const rows = B * T;
  const invFreq = Float32Array.from({ length: HEAD_DIM / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / HEAD_DIM));
  const spec: RopeSpec = { B, T, nHeads: HEADS, headDim: HEAD_DIM, rotaryDim: HEAD_DIM, invFreq, position: 0 };
  const t2 = (xs: tf.Tensor[]) => xs as tf.Tensor2D[];
  return [
    {
      name: `rmsNorm (${rows}, ${HIDDEN})`,
      inputs: [tf.randomNormal([rows, HIDDEN]), tf.randomNormal([HIDDEN])],
      dy: tf.randomNormal([rows, HIDDEN]),
      ours: (x, w) => rmsNorm(x as tf.Tensor2D, w as tf.Tensor1D, EPS),
      stock: (x, w) => stockRmsNorm(x as tf.Tensor2D, w as tf.Tensor1D, EPS),
    },
    {
      name: `rope (${rows}, ${HEADS}·${HEAD_DIM})`,
      inputs: [tf.randomNormal([rows, HEADS * HEAD_DIM])],
      dy: tf.randomNormal([rows, HEADS * HEAD_DIM]),
      ours: (x) => rope(x as tf.Tensor2D, spec),
      stock: (x) => stockRope(x as tf.Tensor2D, spec),
    },
    {
      name: `swiglu (${rows}, ${INTERMEDIATE})`,
      inputs: [tf.randomNormal([rows, INTERMEDIATE]), tf.randomNormal([rows, INTERMEDIATE])],
      dy: tf.randomNormal([rows, INTERMEDIATE]),
      ours: (...xs) => swiglu(...(t2(xs) as [tf.Tensor2D, tf.Tensor2D])),
      stock: (...xs) => stockSwiglu(...(t2(xs) as [tf.Tensor2D, tf.Tensor2D])),
    },
  ];
}

export async function benchLlamaKernels(report: Report): Promise<void> {
  const ctx = await initTf();
  const batch = { seconds: 1 };
  report(`llama kernels on ${describeGpu(ctx)}; ms per call, ours vs stock tfjs ops, one run`);
  for (const c of cases()) {
    const forward = (f: Case['ours']) => () => f(...c.inputs);
    // The first input's gradient is returned; the others are computed too (tf.grads) and disposed by the tidy.
    const step = (f: Case['ours']) => () =>
      tf.tidy(() => tf.grads((...xs: tf.Tensor[]) => f(...xs))(c.inputs, c.dy)[0]);

    const [a, b] = [step(c.ours)(), step(c.stock)()];
    const diff = await maxRelDiff(a, b);
    tf.dispose([a, b]);

    const ms = async (run: () => tf.Tensor) => 1000 * (await secondsPerCall(ctx, run, batch));
    const [oursFwd, stockFwd] = [await ms(forward(c.ours)), await ms(forward(c.stock))];
    const [oursStep, stockStep] = [await ms(step(c.ours)), await ms(step(c.stock))];
    const f = (v: number) => v.toFixed(2).padStart(8);
    report(
      `  ${c.name.padEnd(24)} forward: ours ${f(oursFwd)}  stock ${f(stockFwd)}  ×${(stockFwd / oursFwd).toFixed(2)}` +
        `   fwd+bwd: ours ${f(oursStep)}  stock ${f(stockStep)}  ×${(stockStep / oursStep).toFixed(2)}` +
        `   (gradient max rel diff ${diff.toExponential(1)})`,
      {
        kernel: c.name,
        forward_ours_ms: oursFwd,
        forward_stock_ms: stockFwd,
        forward_ratio: stockFwd / oursFwd,
        step_ours_ms: oursStep,
        step_stock_ms: stockStep,
        step_ratio: stockStep / oursStep,
        max_rel_diff: diff,
      },
    );
    tf.dispose([...c.inputs, c.dy]);
  }
}
