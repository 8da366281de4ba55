// Attention benchmark: Hearth's flash-style kernels against the same attention made of stock tfjs ops, on
// the same device in the same run, forward alone and forward + backward (through tf.grad in both cases).
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { causalSelfAttention } from '../src/core/kernels/attention/index.ts';
import { stockCausalSelfAttention } from '../src/core/kernels/attention/stock.ts';
import { maxRelDiff } from './timing.ts';
import type { Report } from './report.ts';

type Attention = (qkv: tf.Tensor3D, nHead: number) => tf.Tensor3D;

interface Shape {
  B: number;
  T: number;
  C: number;
  nHead: number;
}

// Small enough for SwiftShader to finish the whole module in about a minute.
const SHAPES: Shape[] = [
  { B: 4, T: 64, C: 128, nHead: 4 },
  { B: 4, T: 128, C: 128, nHead: 4 },
];
const WARMUP = 1;
const ITERATIONS = 3;

/** Milliseconds for one call, ending with a read-back so that all its queued GPU work is counted. */
async function timeOnce(run: () => tf.Tensor): Promise<number> {
  const start = performance.now();
  const t = run();
  await t.data();
  t.dispose();
  return performance.now() - start;
}

/** Best-of ms per call of `ours` and `stock`, alternating calls so that a change in machine load hits both;
 * the best rather than the mean because other processes on a shared CPU only ever add time. */
async function timePair(ours: () => tf.Tensor, stock: () => tf.Tensor): Promise<[number, number]> {
  for (let i = 0; i < WARMUP; i++) {
    await timeOnce(ours);
    await timeOnce(stock);
  }
  let [a, b] = [Infinity, Infinity];
  for (let i = 0; i < ITERATIONS; i++) {
    a = Math.min(a, await timeOnce(ours));
    b = Math.min(b, await timeOnce(stock));
  }
  return [a, b];
}

export async function benchAttention(report: Report): Promise<void> {
  const ctx = await initTf();
  report(`attention on ${describeGpu(ctx)}; ms per call, best of ${ITERATIONS} after ${WARMUP} warmup`);
  for (const { B, T, C, nHead } of SHAPES) {
    const qkv = tf.randomNormal([B, T, 3 * C]) as tf.Tensor3D;
    const dout = tf.randomNormal([B, T, C]) as tf.Tensor3D;
    const forward = (attend: Attention) => () => attend(qkv, nHead);
    const forwardBackward = (attend: Attention) => () =>
      tf.grad((x: tf.Tensor) => attend(x as tf.Tensor3D, nHead))(qkv, dout);

    // A benchmark of wrong answers measures nothing: check the two agree first.
    const [ours, stock] = [forwardBackward(causalSelfAttention)(), forwardBackward(stockCausalSelfAttention)()];
    const diff = await maxRelDiff(ours, stock);
    tf.dispose([ours, stock]);

    const [oursFwd, stockFwd] = await timePair(forward(causalSelfAttention), forward(stockCausalSelfAttention));
    const [oursStep, stockStep] = await timePair(
      forwardBackward(causalSelfAttention),
      forwardBackward(stockCausalSelfAttention),
    );
    const f = (ms: number) => ms.toFixed(1).padStart(7);
    report(
      `  B=${B} T=${T} C=${C} nh=${nHead}  forward: ours ${f(oursFwd)}  stock ${f(stockFwd)}  ×${(stockFwd / oursFwd).toFixed(2)}` +
        `   fwd+bwd: ours ${f(oursStep)}  stock ${f(stockStep)}  ×${(stockStep / oursStep).toFixed(2)}` +
        `   (dqkv max rel diff ${diff.toExponential(1)})`,
      {
        B,
        T,
        C,
        n_head: nHead,
        forward_ms: oursFwd,
        stock_forward_ms: stockFwd,
        forward_backward_ms: oursStep,
        stock_forward_backward_ms: stockStep,
        max_rel_diff: diff,
      },
    );
    tf.dispose([qkv, dout]);
  }
  await benchPacked(report);
}

/**
 * Packed rows (TRL's padding-free packing): sequences of 16 tokens, 8 to a row, each attending within itself. The
 * kernels skip the key (and, for dK/dV, query) tiles outside a block's sequences, so a packed row should cost less
 * than one causal row of the same length: the ratio is plain / packed, forward + backward.
 */
async function benchPacked(report: Report): Promise<void> {
  const [B, T, C, nHead, length] = [4, 128, 128, 4, 16];
  const positions = Int32Array.from({ length: B * T }, (_, k) => k % length);
  const qkv = tf.randomNormal([B, T, 3 * C]) as tf.Tensor3D;
  const dout = tf.randomNormal([B, T, C]) as tf.Tensor3D;
  const step = (attend: Attention) => () => tf.grad((x: tf.Tensor) => attend(x as tf.Tensor3D, nHead))(qkv, dout);
  const packed: Attention = (x, nh) => causalSelfAttention(x, nh, undefined, {}, positions);
  const stockPacked: Attention = (x, nh) => stockCausalSelfAttention(x, nh, undefined, {}, positions);
  const [ours, stock] = [step(packed)(), step(stockPacked)()];
  const diff = await maxRelDiff(ours, stock);
  tf.dispose([ours, stock]);
  const [packedMs, plainMs] = await timePair(step(packed), step(causalSelfAttention));
  const f = (ms: number) => ms.toFixed(1).padStart(7);
  report(
    `  packed B=${B} T=${T} C=${C} nh=${nHead}, sequences of ${length}  fwd+bwd: packed ${f(packedMs)}  one causal row ${f(plainMs)}  ×${(plainMs / packedMs).toFixed(2)}` +
      `   (dqkv max rel diff to stock ${diff.toExponential(1)})`,
    { B, T, C, n_head: nHead, sequence_length: length, packed_ms: packedMs, causal_ms: plainMs, max_rel_diff: diff },
  );
  tf.dispose([qkv, dout]);
}
