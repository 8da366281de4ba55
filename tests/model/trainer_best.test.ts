// load_best_model_at_end, as Hugging Face: when training finishes, the model holds the weights of the checkpoint
// whose evaluation was best, not the last step's, so evaluate() (and generation, export) after train() use them.
import { describe, it, expect } from 'vitest';
import { useGpu } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { Trainer, type EvalResult, type TrainerSnapshot } from '../../src/core/train/trainer.ts';
import { resolveArguments, type TrainingArguments } from '../../src/core/train/args.ts';
import type { BlockDataset } from '../../src/core/data/dataset.ts';
import { TRAINER_DIMS } from './models.ts';

const dims = TRAINER_DIMS;
const T = 12;

/** Blocks where each token is followed by token + stride (mod vocab). */
function cycle(blocks: number, stride: number): BlockDataset {
  const tokens = new Uint16Array(blocks * T);
  for (let i = 0; i < tokens.length; i++) tokens[i] = (i * stride) % dims.vocab_size;
  return { blockSize: T, numBlocks: blocks, tokens };
}

// Training teaches t → t+1; evaluation asks for t → t+5, which training makes ever less likely: the eval loss rises
// from the first evaluation on, so the best checkpoint is an early one and the last step's weights are not it.
const train = cycle(8, 1);
const evalData = cycle(4, 5);

function args(over: Partial<TrainingArguments> = {}): TrainingArguments {
  return resolveArguments(
    {
      block_size: T,
      max_steps: 6,
      per_device_train_batch_size: 4,
      learning_rate: 1e-2,
      logging_steps: 1,
      eval_strategy: 'steps',
      eval_steps: 2,
      save_strategy: 'steps',
      save_steps: 2,
      load_best_model_at_end: true,
      ...over,
    },
    dims.n_positions,
  );
}

describe('load_best_model_at_end', () => {
  useGpu();

  it("leaves the best-eval checkpoint's weights in the model after train(), not the last step's", async () => {
    const model = CausalLM.init(dims, 7);
    const saved = new Map<number, Map<string, Float32Array>>();
    const evals: EvalResult[] = [];
    const trainer = new Trainer({
      model,
      args: args(),
      train,
      eval: evalData,
      callbacks: {
        onEval: (r) => evals.push(r),
        onSave: async (snap) =>
          void saved.set(snap.state.step, new Map([...snap.weights].map(([n, t]) => [n, t.data.slice()]))),
      },
    });
    expect(await trainer.trainLoop()).toBe('finished');
    expect(evals.map((e) => e.step)).toEqual([2, 4, 6]);
    const best = evals.reduce((a, b) => (b.eval_loss < a.eval_loss ? b : a));
    expect(best.step, `eval losses ${evals.map((e) => e.eval_loss)}`).toBeLessThan(6);
    expect(trainer.bestModel).toEqual({ step: best.step, eval_loss: best.eval_loss, changed: true });

    const bestWeights = saved.get(best.step)!;
    const lastWeights = saved.get(6)!;
    for (const [name, t] of await model.toArrays()) {
      expect(t.data, name).toEqual(bestWeights.get(name));
    }
    expect(lastWeights.get('h.0.mlp.c_fc.weight')).not.toEqual(bestWeights.get('h.0.mlp.c_fc.weight'));
    // evaluate() after training sees the best model
    const again = await trainer.evaluate();
    expect(Math.abs(again.eval_loss - best.eval_loss)).toBeLessThan(1e-6);
    trainer.dispose();
    model.dispose();
  });

  it('a run resumed from the best checkpoint loads it at the end when no later evaluation beats it', async () => {
    const first = CausalLM.init(dims, 7);
    let atTwo: TrainerSnapshot | null = null;
    const t1 = new Trainer({
      model: first,
      args: args({ max_steps: 2 }),
      train,
      eval: evalData,
      callbacks: { onSave: async (snap) => void (atTwo = snap) },
    });
    await t1.trainLoop();
    t1.dispose();
    first.dispose();
    const snap = atTwo!;
    const model = CausalLM.fromArrays(dims, snap.weights);
    const t2 = new Trainer({
      model,
      args: args(),
      train,
      eval: evalData,
      resume: { state: snap.state, optimizer: snap.optimizer },
      callbacks: { onSave: async () => undefined },
    });
    expect(await t2.trainLoop()).toBe('finished');
    expect(t2.bestModel).toEqual({ step: 2, eval_loss: snap.state.bestEvalLoss, changed: true });
    for (const [name, t] of await model.toArrays()) expect(t.data, name).toEqual(snap.weights.get(name)!.data);
    t2.dispose();
    model.dispose();
  });

  it('loads nothing when the run is stopped (it may resume) or the option is off', async () => {
    for (const over of [{ load_best_model_at_end: false }, {}]) {
      const model = CausalLM.init(dims, 7);
      let last: Map<string, Float32Array> | null = null;
      const trainer: Trainer = new Trainer({
        model,
        args: args(over),
        train,
        eval: evalData,
        callbacks: {
          onSave: async (snap) => void (last = new Map([...snap.weights].map(([n, t]) => [n, t.data.slice()]))),
          onStep: (step) => void (over.load_best_model_at_end === undefined && step === 4 && trainer.stop()),
        },
      });
      const status = await trainer.trainLoop();
      expect(status).toBe(over.load_best_model_at_end === undefined ? 'stopped' : 'finished');
      expect(trainer.bestModel).toBeNull();
      for (const [name, t] of await model.toArrays()) expect(t.data, name).toEqual(last!.get(name));
      trainer.dispose();
      model.dispose();
    }
  });
});
