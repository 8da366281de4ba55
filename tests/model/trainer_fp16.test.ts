// The Trainer with fp16 (mixed precision): loss scaling seen from the logs, overflow survived by skipping, and an
// exact resume that carries the loss scaler's state through the checkpoint files.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { Trainer, type LogEntry } from '../../src/core/train/trainer.ts';
import { resolveArguments, type TrainingArguments } from '../../src/core/train/args.ts';
import { snapshotToCheckpoint, resumePointOf } from '../../src/core/train/checkpointing.ts';
import { checkpointToFiles, checkpointFromFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import type { BlockDataset } from '../../src/core/data/dataset.ts';
import { TRAINER_DIMS } from './models.ts';

const dims = TRAINER_DIMS;
const T = 12;
// 2²⁴ times the logits' gradient (up to 1/36 with 3 × 12 targets) is far past f16's 65504: the first steps overflow.
const OVERFLOWING = { initScale: 2 ** 24 };

function dataset(blocks: number, seed: number): BlockDataset {
  const r = rng(seed);
  return { blockSize: T, numBlocks: blocks, tokens: Uint16Array.from(r.ints(blocks * T, dims.vocab_size)) };
}

function args(over: Partial<TrainingArguments>): TrainingArguments {
  return resolveArguments(
    { block_size: T, logging_steps: 1, save_strategy: 'no', fp16: true, ...over },
    dims.n_positions,
  );
}

async function weightsOf(model: CausalLM): Promise<Map<string, Float32Array>> {
  return new Map([...(await model.toArrays())].map(([n, t]) => [n, t.data]));
}

describe('Trainer with fp16', () => {
  useGpu();

  it('logs the loss scale; overflowing steps are skipped (not a divergence) and the scale backs off', async () => {
    const data = dataset(6, rng().seed);
    const model = CausalLM.init(dims, 3);
    const logs: LogEntry[] = [];
    const t = new Trainer({
      model,
      train: data,
      lossScaler: OVERFLOWING,
      args: args({ per_device_train_batch_size: 3, max_steps: 8, learning_rate: 3e-3 }),
      callbacks: { onLog: (e) => logs.push(e) },
    });
    await t.trainLoop();
    expect(t.status).toBe('finished');
    expect(logs.length).toBe(8);
    // Step 1 overflowed: its norm is not finite, the update was skipped, the scale halved.
    expect(Number.isFinite(logs[0].grad_norm)).toBe(false);
    expect(logs[0]).toMatchObject({ loss_scale: 2 ** 23, skipped_steps: 1 });
    const last = logs[logs.length - 1];
    expect(last.skipped_steps!).toBeGreaterThanOrEqual(2);
    expect(last.skipped_steps!).toBeLessThan(8);
    expect(last.loss_scale).toBe(2 ** 24 / 2 ** last.skipped_steps!);
    // Steps after the overflows were applied: the last steps' norms are finite and the loss moved.
    expect(Number.isFinite(last.grad_norm)).toBe(true);
    expect(logs.every((e) => Number.isFinite(e.loss))).toBe(true);
    // The schedule holds on skipped steps, as HF's Trainer steps its scheduler only when the optimizer ran: an
    // applied update's rate is the schedule's at the count of updates applied before it.
    let skippedBefore = 0;
    logs.forEach((e, i) => {
      const skipped = e.skipped_steps! > skippedBefore;
      const applied = i + 1 - e.skipped_steps!;
      expect(e.learning_rate, `step ${i + 1}`).toBeCloseTo(t.learningRate(skipped ? applied : applied - 1), 12);
      skippedBefore = e.skipped_steps!;
    });
    expect(logs[logs.length - 1].learning_rate).toBeGreaterThan(t.learningRate(7));
    t.dispose();
    model.dispose();
  });

  it('resumes exactly: N steps + save + load + N steps gives the losses of 2N uninterrupted steps, scaler included', async () => {
    const data = dataset(10, rng().seed);
    const N = 4;
    const common = {
      per_device_train_batch_size: 3,
      learning_rate: 3e-3,
      warmup_steps: 2,
      lr_scheduler_type: 'cosine' as const,
      weight_decay: 0.1,
      max_steps: 2 * N,
      seed: 7,
    };
    const full = CausalLM.init(dims, 11);
    const fullLogs: LogEntry[] = [];
    const tf1 = new Trainer({
      model: full,
      train: data,
      lossScaler: OVERFLOWING,
      args: args(common),
      callbacks: { onLog: (e) => fullLogs.push(e) },
    });
    await tf1.trainLoop();

    const first = CausalLM.init(dims, 11);
    const partLogs: LogEntry[] = [];
    const tp = new Trainer({ model: first, train: data, lossScaler: OVERFLOWING, args: args(common) });
    for (let i = 0; i < N; i++) {
      const { loss, gradNorm } = tp.trainStep();
      partLogs.push({ loss: (await loss.data())[0] } as LogEntry);
      tf.dispose([loss, gradNorm]);
    }
    const tokenizer = charTokenizerFrom('abcdefghijklmnop');
    const config = makeGpt2Config({
      vocab_size: dims.vocab_size,
      n_positions: dims.n_positions,
      n_embd: dims.n_embd,
      n_layer: dims.n_layer,
      n_head: dims.n_head,
    });
    const snap = await tp.snapshot();
    expect(snap.state.lossScale!.skippedSteps).toBeGreaterThanOrEqual(1);
    const ckpt = checkpointFromFiles(checkpointToFiles(snapshotToCheckpoint(snap, config, tokenizer)));
    const resume = resumePointOf(ckpt)!;
    expect(resume.state.lossScale).toEqual(snap.state.lossScale);
    const second = CausalLM.fromArrays(dims, ckpt.weights);
    // The scaler's settings are the run's, its state the checkpoint's.
    const tr = new Trainer({
      model: second,
      train: data,
      lossScaler: OVERFLOWING,
      args: resume.args,
      resume,
      callbacks: { onLog: (e) => partLogs.push(e) },
    });
    await tr.trainLoop();

    expect(partLogs.length).toBe(2 * N);
    for (let i = 0; i < 2 * N; i++) {
      expect(
        Math.abs(partLogs[i].loss - fullLogs[i].loss),
        `step ${i + 1}: ${partLogs[i].loss} vs ${fullLogs[i].loss}`,
      ).toBeLessThan(1e-5);
    }
    for (let i = N; i < 2 * N; i++)
      expect(partLogs[i]).toMatchObject({
        loss_scale: fullLogs[i].loss_scale,
        skipped_steps: fullLogs[i].skipped_steps,
      });
    const wf = await weightsOf(full);
    for (const [n, x] of await weightsOf(second)) expect(relError(x, wf.get(n)!), n).toBeLessThan(1e-5);
    [tf1, tp, tr].forEach((t) => t.dispose());
    [full, first, second].forEach((m) => m.dispose());
  });
});
