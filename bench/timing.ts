// Timing GPU work for the benchmarks (the clock is read only after the GPU has run what was queued), and checking
// that the contenders timed computed the same thing.
import { finishQueuedWork, type tf } from '../src/core/gpu/tf.ts';
import type { GpuContext } from '../src/core/gpu/device.ts';

/**
 * Seconds per call of `run`: a warmup call (pipelines compile there), then a batch of calls, synced before the clock
 * is read. The batch is `calls` long, or sized by one timed call to last about `seconds` (1 to 200 calls).
 */
export async function secondsPerCall(
  ctx: GpuContext,
  run: () => tf.Tensor,
  batch: { calls: number } | { seconds: number },
): Promise<number> {
  const once = async () => {
    const start = performance.now();
    run().dispose();
    await finishQueuedWork(ctx);
    return (performance.now() - start) / 1000;
  };
  await once();
  const calls =
    'calls' in batch
      ? batch.calls
      : Math.max(1, Math.min(200, Math.round(batch.seconds / Math.max(await once(), 1e-6))));
  const start = performance.now();
  for (let i = 0; i < calls; i++) run().dispose();
  await finishQueuedWork(ctx);
  return (performance.now() - start) / 1000 / calls;
}

/** The largest difference between a and b, relative to b's largest magnitude. */
export async function maxRelDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let scale = 0;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst / (scale || 1);
}
