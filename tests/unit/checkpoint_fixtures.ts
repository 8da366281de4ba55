// Small checkpoints for the checkpoint tests: a 2-layer GPT-2 with random weights, a stand-in
// tokenizer (opaque here) and a training state with AdamW moments.
import { makeGpt2Config, type GPT2Config } from '../../src/core/model/families/gpt2_config.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import type { HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import { elementCount } from '../../src/core/checkpoint/tensors.ts';
import type { TrainingState } from '../../src/core/checkpoint/training_state.ts';
import { rng } from '../helpers.ts';

export function tinyConfig(overrides: Partial<GPT2Config> = {}): GPT2Config {
  return makeGpt2Config({ vocab_size: 13, n_positions: 9, n_embd: 8, n_layer: 2, n_head: 2, ...overrides });
}

export function randomTensors(shapes: Map<string, number[]>, seed: number, scale = 0.5): NamedTensors {
  const r = rng(seed);
  const out: NamedTensors = new Map();
  for (const [name, shape] of shapes) out.set(name, { shape: [...shape], data: r.normals(elementCount(shape), scale) });
  return out;
}

export const TOKENIZER_JSON = JSON.stringify({
  version: '1.0',
  model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] },
});

export function tinyCheckpoint(
  options: { seed?: number; training?: boolean; config?: Partial<GPT2Config> } = {},
): HearthCheckpoint {
  const seed = options.seed ?? 1234;
  const config = tinyConfig(options.config);
  const shapes = modelParameterShapes(config);
  const weights = randomTensors(shapes, seed);
  const ckpt: HearthCheckpoint = { config, weights, tokenizer: { 'tokenizer.json': TOKENIZER_JSON } };
  if (options.training) ckpt.training = tinyTrainingState(shapes, seed + 1);
  return ckpt;
}

export function tinyTrainingState(shapes: Map<string, number[]>, seed: number, step = 40): TrainingState {
  const expAvgSq = randomTensors(shapes, seed + 1, 0.01);
  for (const t of expAvgSq.values()) t.data = t.data.map((x) => x * x);
  return {
    step,
    epoch: 1.25,
    trainerArgs: { learning_rate: 6e-4, per_device_train_batch_size: 4, save_steps: 20 },
    dataPosition: { shard: 0, offset: 12345 },
    rngState: [0x9e3779b9, 12, 7],
    lossHistory: [
      { step: 10, loss: 3.25 },
      { step: 20, loss: 2.5, eval_loss: 2.75 },
    ],
    bestEvalLoss: 2.75,
    evalLoss: 2.75,
    optimizer: { expAvg: randomTensors(shapes, seed, 0.01), expAvgSq },
  };
}
