import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { Trainer, TrainingDivergedError, type LogEntry } from '../../src/core/train/trainer.ts';
import { resolveArguments, type TrainingArguments } from '../../src/core/train/args.ts';
import { snapshotToCheckpoint, resumePointOf } from '../../src/core/train/checkpointing.ts';
import { checkpointToFiles, checkpointFromFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import type { BlockDataset } from '../../src/core/data/dataset.ts';
import { storedBlocks } from '../../src/core/data/blocks.ts';
import { TRAINER_DIMS } from './models.ts';

const dims = TRAINER_DIMS;
const T = 12;

function dataset(blocks: number, seed: number): BlockDataset {
  const r = rng(seed);
  return { blockSize: T, numBlocks: blocks, tokens: Uint16Array.from(r.ints(blocks * T, dims.vocab_size)) };
}

function args(over: Partial<TrainingArguments>): TrainingArguments {
  return resolveArguments({ block_size: T, logging_steps: 1, save_strategy: 'no', ...over }, dims.n_positions);
}

async function weightsOf(model: CausalLM): Promise<Map<string, Float32Array>> {
  return new Map([...(await model.toArrays())].map(([n, t]) => [n, t.data]));
}

describe('Trainer', () => {
  useGpu();

  it('gradient accumulation is exact: 4 micro-batches of 2 make the same update as one batch of 8', async () => {
    const data = dataset(8, rng().seed);
    // adam_epsilon 1 makes the first AdamW update nearly proportional to the gradient, so the comparison sees the
    // gradient itself (with the default epsilon, Adam's first step is lr·sign(g), blind to the gradient's size).
    const common = { max_steps: 1, learning_rate: 0.1, adam_epsilon: 1, max_grad_norm: 0, weight_decay: 0.01 };
    const a = CausalLM.init(dims, 5);
    const b = CausalLM.init(dims, 5);
    const logs: LogEntry[][] = [[], []];
    const ta = new Trainer({
      model: a,
      train: data,
      args: args({ ...common, per_device_train_batch_size: 2, gradient_accumulation_steps: 4 }),
      callbacks: { onLog: (e) => logs[0].push(e) },
    });
    const tb = new Trainer({
      model: b,
      train: data,
      args: args({ ...common, per_device_train_batch_size: 8, gradient_accumulation_steps: 1 }),
      callbacks: { onLog: (e) => logs[1].push(e) },
    });
    await ta.trainLoop();
    await tb.trainLoop();
    expect(Math.abs(logs[0][0].loss - logs[1][0].loss) / logs[1][0].loss).toBeLessThan(1e-5);
    expect(Math.abs(logs[0][0].grad_norm - logs[1][0].grad_norm) / logs[1][0].grad_norm).toBeLessThan(1e-5);
    const wa = await weightsOf(a);
    const wb = await weightsOf(b);
    const w0 = await weightsOf(CausalLM.init(dims, 5));
    for (const [n, x] of wa) {
      expect(relError(x, wb.get(n)!), n).toBeLessThan(1e-5);
    }
    // and the step did move the weights (a no-op would pass the comparison above)
    expect(relError(wa.get('h.0.mlp.c_fc.weight')!, w0.get('h.0.mlp.c_fc.weight')!)).toBeGreaterThan(1e-3);
    [ta, tb].forEach((t) => t.dispose());
    [a, b].forEach((m) => m.dispose());
  });

  it('accumulation over rows with different numbers of −100 labels makes the update of one big batch', async () => {
    // Fine-tuning rows: right-padded to different lengths, and with loss masks that count different numbers of
    // tokens, so the two micro-batches of a step count unequal numbers of targets.
    const r = rng(17);
    const lengths = [12, 5, 9, 3, 12, 7, 4, 10];
    const rows = lengths.map((n, i) => ({
      ids: Uint16Array.from(r.ints(n, dims.vocab_size)),
      lossMask: i % 3 === 0 ? null : Uint8Array.from({ length: n }, (_, t) => (t >= (i * 2) % n ? 1 : 0)),
      sequenceStarts: null,
    }));
    const data = storedBlocks(T, rows.length, 0, async (i) => rows[i]);
    const common = { max_steps: 1, learning_rate: 0.1, adam_epsilon: 1, max_grad_norm: 0, weight_decay: 0 };
    const run = async (batch: number, accum: number) => {
      const model = CausalLM.init(dims, 9);
      const logs: LogEntry[] = [];
      const t = new Trainer({
        model,
        train: data,
        args: args({ ...common, per_device_train_batch_size: batch, gradient_accumulation_steps: accum }),
        callbacks: { onLog: (e) => logs.push(e) },
      });
      await t.trainLoop();
      const w = await weightsOf(model);
      t.dispose();
      model.dispose();
      return { log: logs[0], w };
    };
    const accumulated = await run(2, 4);
    const whole = await run(8, 1);
    expect(Math.abs(accumulated.log.loss - whole.log.loss) / whole.log.loss).toBeLessThan(1e-5);
    expect(Math.abs(accumulated.log.grad_norm - whole.log.grad_norm) / whole.log.grad_norm).toBeLessThan(1e-5);
    for (const [n, x] of accumulated.w) expect(relError(x, whole.w.get(n)!), n).toBeLessThan(1e-5);
  });

  it('resumes exactly: N steps + save + load + N steps gives the losses of 2N uninterrupted steps', async () => {
    const data = dataset(10, rng().seed);
    const N = 3;
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
      args: args(common),
      callbacks: { onLog: (e) => fullLogs.push(e) },
    });
    await tf1.trainLoop();

    const first = CausalLM.init(dims, 11);
    const partLogs: LogEntry[] = [];
    const tp = new Trainer({
      model: first,
      train: data,
      args: args(common),
      callbacks: { onLog: (e) => partLogs.push(e) },
    });
    for (let i = 0; i < N; i++) {
      const { loss, gradNorm } = tp.trainStep();
      partLogs.push({ loss: (await loss.data())[0] } as LogEntry);
      tf.dispose([loss, gradNorm]);
    }
    // through the real checkpoint files, as an export and import would
    const tokenizer = charTokenizerFrom('abcdefghijklmnop');
    const config = makeGpt2Config({
      vocab_size: dims.vocab_size,
      n_positions: dims.n_positions,
      n_embd: dims.n_embd,
      n_layer: dims.n_layer,
      n_head: dims.n_head,
    });
    const files = checkpointToFiles(snapshotToCheckpoint(await tp.snapshot(), config, tokenizer));
    const ckpt = checkpointFromFiles(files);
    const resume = resumePointOf(ckpt)!;
    const second = CausalLM.fromArrays(dims, ckpt.weights);
    const tr = new Trainer({
      model: second,
      train: data,
      args: resume.args,
      resume,
      callbacks: { onLog: (e) => partLogs.push(e) },
    });
    expect(tr.step).toBe(N);
    await tr.trainLoop();

    expect(partLogs.length).toBe(2 * N);
    for (let i = 0; i < 2 * N; i++) {
      expect(
        Math.abs(partLogs[i].loss - fullLogs[i].loss),
        `step ${i + 1}: ${partLogs[i].loss} vs ${fullLogs[i].loss}`,
      ).toBeLessThan(1e-5);
    }
    const wf = await weightsOf(full);
    for (const [n, x] of await weightsOf(second)) expect(relError(x, wf.get(n)!), n).toBeLessThan(1e-5);
    [tf1, tp, tr].forEach((t) => t.dispose());
    [full, first, second].forEach((m) => m.dispose());
  });

  it('refuses to resume from a data position that the data cannot hold, or that is no position at all', async () => {
    const model = CausalLM.init(dims, 3);
    const common = { per_device_train_batch_size: 3, max_steps: 4, seed: 7 };
    const first = new Trainer({ model, train: dataset(10, 1), args: args(common) });
    for (let i = 0; i < 2; i++) tf.dispose(Object.values(first.trainStep()));
    const config = makeGpt2Config({ ...dims });
    const snap = await first.snapshot();
    expect(snap.state.dataPosition.index).toBe(6);
    const resume = resumePointOf(snapshotToCheckpoint(snap, config, charTokenizerFrom('abcdefghijklmnop')))!;
    const resumeOn = (train: BlockDataset, dataPosition = resume.state.dataPosition) =>
      new Trainer({ model, train, args: resume.args, resume: { ...resume, state: { ...resume.state, dataPosition } } });
    expect(() => resumeOn(dataset(4, 2))).toThrow(
      /^cannot resume: the checkpoint's data_position\.index 6 lies beyond the 4 blocks of an epoch of this data \(hearth_state\.json is damaged, or this is not the data it was trained on\)$/,
    );
    for (const index of [-1000, 2.5]) {
      expect(() => resumeOn(dataset(10, 2), { ...resume.state.dataPosition, index })).toThrow(
        new RegExp(
          `cannot resume: the checkpoint's data_position\\.index must be a whole number of blocks ≥ 0, got ${index}`,
        ),
      );
    }
    const resumed = resumeOn(dataset(10, 2));
    expect(resumed.step).toBe(2);
    [first, resumed].forEach((t) => t.dispose());
    model.dispose();
  });

  it('clips the global gradient norm to max_grad_norm', async () => {
    const data = dataset(4, rng().seed);
    const model = CausalLM.init(dims, 3);
    const logs: LogEntry[] = [];
    const t = new Trainer({
      model,
      train: data,
      args: args({ per_device_train_batch_size: 4, max_steps: 1, max_grad_norm: 0.05, learning_rate: 1e-3 }),
      callbacks: { onLog: (e) => logs.push(e) },
    });
    await t.trainLoop();
    expect(logs[0].grad_norm).toBeGreaterThan(0.05); // the raw norm, as Hugging Face logs it
    // After one step AdamW's first moment is (1 − β1)·g, with g the clipped gradient.
    const snap = await t.snapshot();
    let ss = 0;
    for (const m of snap.optimizer.m.values()) for (const x of m) ss += x * x;
    expect(Math.sqrt(ss) / (1 - 0.9)).toBeCloseTo(0.05, 4);
    t.dispose();
    model.dispose();
  });

  it('stops with a clear message on a NaN loss and does not save the broken weights', async () => {
    const data = dataset(4, rng().seed);
    const model = CausalLM.init(dims, 3);
    const nan = tf.fill([dims.n_embd], NaN);
    model.p('ln_f.weight').assign(nan);
    nan.dispose();
    let saves = 0;
    const t = new Trainer({
      model,
      train: data,
      args: args({ per_device_train_batch_size: 2, max_steps: 3, save_strategy: 'steps', save_steps: 1 }),
      callbacks: { onSave: async () => void saves++ },
    });
    await expect(t.trainLoop()).rejects.toThrow(TrainingDivergedError);
    await expect(t.trainLoop()).rejects.toThrow(/not a finite number.*last checkpoint/);
    expect(saves).toBe(0);
    expect(t.status).toBe('failed');
    t.dispose();
    model.dispose();
  });

  it('refuses block_size above n_positions and reports the learning-rate schedule it will follow', () => {
    const model = CausalLM.init(dims, 1);
    expect(
      () =>
        new Trainer({
          model,
          train: { blockSize: 32, numBlocks: 2, tokens: new Uint16Array(64) },
          args: resolveArguments({ block_size: 32 }),
        }),
    ).toThrow(/block_size.*n_positions \(16\)/);
    const t = new Trainer({
      model,
      train: dataset(20, 1),
      args: args({ per_device_train_batch_size: 4, num_train_epochs: 2, warmup_ratio: 0.1 }),
    });
    expect(t.stepsPerEpoch).toBe(5);
    expect(t.totalSteps).toBe(10);
    expect(t.warmupSteps).toBe(1);
    expect(t.learningRate(0)).toBe(0);
    t.dispose();
    model.dispose();
  });
});
