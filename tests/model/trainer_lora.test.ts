// The trainer with a LoRA adapter: N steps, a checkpoint through its real files (the PEFT adapter, AdamW's moments of
// the adapter alone, the step and the data position), a new model of the same base with the adapter loaded, and N
// more steps give the losses and the adapter of 2N uninterrupted steps, lora_dropout's masks included; the base never
// moves.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { DEFAULT_LORA_CONFIG, type LoraConfig } from '../../src/core/model/lora/config.ts';
import { Trainer, type LogEntry } from '../../src/core/train/trainer.ts';
import { resolveArguments, type TrainingArguments } from '../../src/core/train/args.ts';
import { loraResumeFromFiles, loraSnapshotToFiles } from '../../src/core/train/lora_checkpoint.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import type { BlockDataset } from '../../src/core/data/dataset.ts';
import { TRAINER_DIMS } from './models.ts';

const dims = TRAINER_DIMS;
const T = 12;
const config = makeGpt2Config({ ...dims });
const lora: LoraConfig = {
  ...DEFAULT_LORA_CONFIG,
  r: 3,
  lora_alpha: 6,
  lora_dropout: 0.1,
  target_modules: 'all-linear',
};

function dataset(blocks: number, seed: number): BlockDataset {
  const r = rng(seed);
  return { blockSize: T, numBlocks: blocks, tokens: Uint16Array.from(r.ints(blocks * T, dims.vocab_size)) };
}

function args(over: Partial<TrainingArguments>): TrainingArguments {
  return resolveArguments({ block_size: T, logging_steps: 1, save_strategy: 'no', ...over }, dims.n_positions);
}

/** The base (the same every time) with a new adapter on it. */
function adapted(): CausalLM {
  const model = CausalLM.init(dims, 11);
  model.attachLora(lora, { seed: 5 });
  return model;
}

describe('Trainer with LoRA', () => {
  useGpu();

  it('resumes exactly: N steps + adapter checkpoint + N steps gives the losses and adapter of 2N steps', async () => {
    const data = dataset(10, rng().seed);
    const N = 3;
    const common = {
      per_device_train_batch_size: 3,
      learning_rate: 1e-2,
      warmup_steps: 2,
      lr_scheduler_type: 'cosine' as const,
      weight_decay: 0.1,
      max_steps: 2 * N,
      seed: 7,
    };
    const full = adapted();
    const baseBefore = await full.toArrays();
    const fullLogs: LogEntry[] = [];
    const tf1 = new Trainer({
      model: full,
      train: data,
      args: args(common),
      callbacks: { onLog: (e) => fullLogs.push(e) },
    });
    await tf1.trainLoop();

    const first = adapted();
    const partLogs: LogEntry[] = [];
    const tp = new Trainer({ model: first, train: data, args: args(common) });
    for (let i = 0; i < N; i++) {
      const { loss, gradNorm } = tp.trainStep();
      partLogs.push({ loss: (await loss.data())[0] } as LogEntry);
      tf.dispose([loss, gradNorm]);
    }
    const snap = await tp.snapshot();
    expect([...snap.optimizer.m.keys()]).toEqual([...first.trainable.keys()]); // AdamW's state: the adapter's alone
    const files = loraSnapshotToFiles(snap, config, lora, 'base', charTokenizerFrom('abcdefghijklmnop'));
    expect([...files.keys()].sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'hearth_state.json',
      'optimizer.safetensors',
      'tokenizer.json',
    ]);
    const { adapter, resume } = loraResumeFromFiles(files, config);
    const second = CausalLM.init(dims, 11);
    second.attachLora(adapter.config, { values: adapter.tensors });
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
    const want = await full.adapterArrays();
    for (const [n, x] of await second.adapterArrays())
      expect(relError(x.data, want.get(n)!.data), n).toBeLessThan(1e-5);
    // The base did not move, and the adapter did.
    const after = await full.toArrays();
    for (const n of full.params.keys()) expect(after.get(n)!.data, n).toEqual(baseBefore.get(n)!.data);
    expect(after.get('h.0.mlp.c_fc.lora_B.weight')!.data.some((v) => v !== 0)).toBe(true);
    [tf1, tp, tr].forEach((t) => t.dispose());
    [full, first, second].forEach((m) => m.dispose());
  });
});
