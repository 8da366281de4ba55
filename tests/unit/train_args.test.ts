import { describe, it, expect } from 'vitest';
import { lrLambda, warmupStepsFor } from '../../src/core/train/schedule.ts';
import {
  resolveArguments,
  argumentProblems,
  DEFAULT_TRAINING_ARGUMENTS,
  ArgumentError,
} from '../../src/core/train/args.ts';

describe('learning-rate schedules (Hugging Face formulas)', () => {
  // Values worked out by hand from transformers.optimization for warmup 10, total 110.
  it('linear: ramps up over warmup, then falls linearly to 0 at the last step', () => {
    expect(lrLambda('linear', 0, 10, 110)).toBe(0);
    expect(lrLambda('linear', 5, 10, 110)).toBeCloseTo(0.5, 12);
    expect(lrLambda('linear', 10, 10, 110)).toBeCloseTo(1, 12);
    expect(lrLambda('linear', 60, 10, 110)).toBeCloseTo(0.5, 12);
    expect(lrLambda('linear', 110, 10, 110)).toBe(0);
    expect(lrLambda('linear', 200, 10, 110)).toBe(0);
  });
  it('cosine: half a cosine from 1 to 0 after warmup', () => {
    expect(lrLambda('cosine', 5, 10, 110)).toBeCloseTo(0.5, 12);
    expect(lrLambda('cosine', 10, 10, 110)).toBeCloseTo(1, 12);
    expect(lrLambda('cosine', 60, 10, 110)).toBeCloseTo(0.5, 12);
    expect(lrLambda('cosine', 35, 10, 110)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.25)), 12);
    expect(lrLambda('cosine', 110, 10, 110)).toBeCloseTo(0, 12);
  });
  it('constant and constant_with_warmup', () => {
    expect(lrLambda('constant', 0, 10, 110)).toBe(1);
    expect(lrLambda('constant_with_warmup', 3, 10, 110)).toBeCloseTo(0.3, 12);
    expect(lrLambda('constant_with_warmup', 50, 10, 110)).toBe(1);
  });
  it('warmup_steps wins over warmup_ratio; the ratio rounds up', () => {
    expect(warmupStepsFor(100, 7, 0.5)).toBe(7);
    expect(warmupStepsFor(101, 0, 0.1)).toBe(11);
  });
});

describe('TrainingArguments', () => {
  it('defaults are Hugging Face’s', () => {
    const a = resolveArguments({});
    expect(a.learning_rate).toBe(5e-5);
    expect(a.num_train_epochs).toBe(3);
    expect(a.per_device_train_batch_size).toBe(8);
    expect(a.lr_scheduler_type).toBe('linear');
    expect(a.save_steps).toBe(500);
    expect(a.seed).toBe(42);
    expect(a).toEqual({ ...DEFAULT_TRAINING_ARGUMENTS });
  });
  it('refuses invalid values with a message naming the argument', () => {
    expect(() => resolveArguments({ learning_rate: -1 })).toThrow(/learning_rate/);
    expect(() => resolveArguments({ per_device_train_batch_size: 0 })).toThrow(ArgumentError);
    expect(() => resolveArguments({ per_device_train_batch_size: 0 })).toThrow(/per_device_train_batch_size/);
    expect(() => resolveArguments({ block_size: 2048 }, 1024)).toThrow(/block_size.*n_positions \(1024\)/);
    expect(() => resolveArguments({ lr_scheduler_type: 'polynomial' as never })).toThrow(/lr_scheduler_type/);
    expect(() => resolveArguments({ learning_rte: 1 } as never)).toThrow(/unknown training argument: learning_rte/);
  });
  it('fp16 (mixed precision) is off by default, as in Hugging Face, and must be a boolean', () => {
    expect(resolveArguments({}).fp16).toBe(false);
    expect(resolveArguments({ fp16: true }).fp16).toBe(true);
    expect(() => resolveArguments({ fp16: 'yes' as never })).toThrow(/fp16: must be true or false/);
  });
  it('lists every problem at once, for the form', () => {
    const p = argumentProblems({ ...DEFAULT_TRAINING_ARGUMENTS, adam_beta1: 2, warmup_ratio: -0.1 });
    expect([...p.keys()].sort()).toEqual(['adam_beta1', 'warmup_ratio']);
  });

  it('load_best_model_at_end needs matching save and eval strategies, and saves on evaluation steps (as Hugging Face)', () => {
    const best = { load_best_model_at_end: true } as const;
    expect(() => resolveArguments({ ...best })).toThrow(
      /load_best_model_at_end: requires the save and eval strategy to match, but found eval_strategy 'no' and save_strategy 'steps'/,
    );
    expect(() => resolveArguments({ ...best, eval_strategy: 'steps', save_strategy: 'epoch' })).toThrow(ArgumentError);
    expect(() => resolveArguments({ ...best, eval_strategy: 'steps', eval_steps: 30, save_steps: 100 })).toThrow(
      /save_steps to be a round multiple of eval_steps, but found 100, which is not a round multiple of 30/,
    );
    // eval_steps empty means logging_steps
    expect(() => resolveArguments({ ...best, eval_strategy: 'steps', logging_steps: 30, save_steps: 100 })).toThrow(
      /not a round multiple of 30/,
    );
    expect(
      resolveArguments({ ...best, eval_strategy: 'steps', eval_steps: 50, save_steps: 100 }).load_best_model_at_end,
    ).toBe(true);
    expect(resolveArguments({ ...best, eval_strategy: 'epoch', save_strategy: 'epoch' }).load_best_model_at_end).toBe(
      true,
    );
    expect(
      argumentProblems({ ...DEFAULT_TRAINING_ARGUMENTS, load_best_model_at_end: 'yes' as unknown as boolean }).get(
        'load_best_model_at_end',
      ),
    ).toMatch(/true or false/);
  });
});
