// Mixed-precision training (f16 matmul and attention operands, f32 master weights and moments, dynamic loss
// scaling) against the same run in f32: the tiny model of train.test.ts, same data, same seed.
import { describe, it, expect } from 'vitest';
import { useGpu, relError, tf } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { AdamW } from '../../src/core/train/optimizer.ts';
import { MixedPrecision } from '../../src/core/train/mixed_precision.ts';
import { repeatingSequence } from './models.ts';

const { dims, B, T, tokens, targets } = repeatingSequence();

interface Run {
  losses: number[];
  /** per step: whether the loss scaler skipped its update */
  skipped: boolean[];
  scale: number;
}

async function train(steps: number, fp16: boolean, initScale?: number): Promise<Run> {
  const model = CausalLM.init(dims, 42);
  const opt = new AdamW(model.params, { weightDecay: 0.01, maxGradNorm: 1 });
  const mp = fp16 ? new MixedPrecision(initScale ? { initScale } : {}) : null;
  const run: Run = { losses: [], skipped: [], scale: NaN };
  for (let step = 0; step < steps; step++) {
    const { loss, grads } = model.lossAndGrads(tokens, targets, B, T, mp ? { ops: mp.ops } : {});
    const norm = opt.apply(grads, 1e-2, mp?.scaler);
    mp?.endStep();
    run.losses.push((await loss.data())[0]);
    if (mp) {
      const s = await mp.scaler.read();
      run.skipped.push(s.foundInf);
      run.scale = s.scale;
    }
    tf.dispose([loss, norm, ...grads.values()]);
  }
  mp?.dispose();
  opt.dispose();
  model.dispose();
  return run;
}

const firstBelow = (losses: number[], target: number) => losses.findIndex((l) => l < target);

describe('mixed-precision training (fp16)', () => {
  useGpu();

  it('tracks the f32 run: the same losses within 2% while they are above 0.25, and the 0.1 target at the same step ± 3', async () => {
    const steps = 30;
    const f32 = await train(steps, false);
    const fp16 = await train(steps, true);
    // f16 operands carry 2⁻¹¹ relative rounding; on this model that moved the early losses by < 0.6%. Once the
    // loss falls tenfold in ten steps, a tiny shift in time is tens of percent at a given step, so from there the
    // runs are compared by when they reach the target.
    for (let i = 0; i < steps && f32.losses[i] > 0.25; i++) {
      const rel = Math.abs(fp16.losses[i] - f32.losses[i]) / f32.losses[i];
      expect(rel, `step ${i}: f32 ${f32.losses[i]}, fp16 ${fp16.losses[i]}`).toBeLessThan(0.02);
    }
    const [reach32, reach16] = [firstBelow(f32.losses, 0.1), firstBelow(fp16.losses, 0.1)];
    expect(reach32, `f32 losses ${f32.losses}`).toBeGreaterThan(0);
    expect(reach16, `fp16 losses ${fp16.losses}`).toBeGreaterThan(0);
    expect(Math.abs(reach16 - reach32)).toBeLessThanOrEqual(3);
    // At the default scale (2¹⁶) this model never overflows f16.
    expect(fp16.skipped.every((s) => !s)).toBe(true);
    expect(fp16.scale).toBe(2 ** 16);
  });

  it('a scale that overflows f16 skips steps and backs off; the run then continues exactly as one that never skipped', async () => {
    const steps = 12;
    const plain = await train(steps, true);
    // 2²⁴ times the logits' gradient (up to 1/92 here: 92 targets) is past f16's 65504: the first steps must overflow.
    const big = await train(steps + 8, true, 2 ** 24);
    const skips = big.skipped.filter(Boolean).length;
    expect(big.skipped[0]).toBe(true);
    expect(skips).toBeGreaterThanOrEqual(2);
    expect(big.scale).toBeLessThanOrEqual(2 ** 22);
    // A skipped step changes nothing (the next loss repeats), and AdamW's step count ignores it, so with the
    // skips removed the losses are the plain run's: power-of-two scales leave f16 rounding unchanged.
    let skippedSoFar = 0;
    for (let i = 0; i < big.losses.length && i - skippedSoFar < steps; i++) {
      const j = i - skippedSoFar;
      expect(Math.abs(big.losses[i] - plain.losses[j]) / plain.losses[j], `step ${i} (plain step ${j})`).toBeLessThan(
        1e-4,
      );
      if (big.skipped[i]) skippedSoFar++;
    }
  });

  it('casts each matmul weight once per step, and gives the same scaled gradients with gradient checkpointing', async () => {
    const model = CausalLM.init(dims, 42);
    const mp = new MixedPrecision();
    const plain = model.lossAndGrads(tokens, targets, B, T, { ops: mp.ops });
    // c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj and the tied head (wte): cast once, shared by both passes.
    expect(mp.weights.size).toBe(5);
    const recomputed = model.lossAndGrads(tokens, targets, B, T, { ops: mp.ops, checkpoint: true });
    expect(mp.weights.size).toBe(5); // the weights did not change: the same copies served the second pass
    expect((await recomputed.loss.data())[0]).toBe((await plain.loss.data())[0]);
    for (const [name, g] of plain.grads) {
      expect(relError(await recomputed.grads.get(name)!.data(), await g.data()), name).toBeLessThan(1e-5);
    }
    mp.endStep();
    expect(mp.weights.size).toBe(0);
    tf.dispose([plain.loss, recomputed.loss, ...plain.grads.values(), ...recomputed.grads.values()]);
    mp.dispose();
    model.dispose();
  });
});
