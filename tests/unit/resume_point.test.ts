// A damaged training state is refused with the field and the file it lies in, never resumed from the wrong place:
// the data position, the step counters, and the AdamW moments' invariants.
import { describe, expect, it } from 'vitest';
import { checkpointFromFiles, checkpointToFiles, type HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import { writeSafetensors } from '../../src/core/checkpoint/safetensors.ts';
import type { HostTensor } from '../../src/core/model/host_tensors.ts';
import { BatchSampler } from '../../src/core/data/batches.ts';
import { resumePointOf } from '../../src/core/train/checkpointing.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';

/** A tiny checkpoint with a training state the trainer could resume from. */
function resumable(): HearthCheckpoint {
  const ckpt = tinyCheckpoint({ training: true });
  ckpt.training!.dataPosition = { seed: 42, epoch: 1, index: 8 };
  ckpt.training!.rngState = { optimizer_step: 40 };
  ckpt.training!.trainerArgs = { ...ckpt.training!.trainerArgs, block_size: 8 };
  return ckpt;
}

/** The checkpoint's files with hearth_state.json edited as text would be. */
function withState(edit: (state: Record<string, unknown>) => void): Map<string, Uint8Array> {
  const files = checkpointToFiles(resumable());
  const state = JSON.parse(new TextDecoder().decode(files.get('hearth_state.json')));
  edit(state);
  files.set('hearth_state.json', new TextEncoder().encode(JSON.stringify(state)));
  return files;
}

function resumeFrom(files: Map<string, Uint8Array>) {
  return resumePointOf(checkpointFromFiles(files));
}

describe('the data position on resume', () => {
  it('resumes from a sound position', () => {
    expect(resumeFrom(withState(() => {}))!.state.dataPosition).toEqual({ seed: 42, epoch: 1, index: 8 });
  });

  it.each([
    [
      'a negative index',
      { seed: 42, epoch: 1, index: -1000 },
      /data_position\.index must be a whole number of blocks ≥ 0, got -1000/,
    ],
    [
      'a fractional index',
      { seed: 42, epoch: 1, index: 2.5 },
      /data_position\.index must be a whole number of blocks ≥ 0, got 2\.5/,
    ],
    [
      'an index as text',
      { seed: 42, epoch: 1, index: '8' },
      /data_position\.index must be a whole number of blocks ≥ 0, got "8"/,
    ],
    ['a negative epoch', { seed: 42, epoch: -1, index: 8 }, /data_position\.epoch must be a whole number ≥ 0, got -1/],
    [
      'a seed past 32 bits',
      { seed: 2 ** 40, epoch: 1, index: 8 },
      /data_position\.seed must be a whole number from 0 to 2³²−1, got 1099511627776/,
    ],
    ['a list', [42, 1, 8], /data_position must be an object \{seed, epoch, index\}, got \[42,1,8\]/],
  ])('refuses %s', (_label, position, message) => {
    const files = withState((s) => (s.data_position = position));
    expect(() => resumeFrom(files)).toThrow(message);
    expect(() => resumeFrom(files)).toThrow(/^hearth_state\.json: /);
  });

  it('a sampler refuses a position beyond its data instead of drawing block 0', () => {
    const data = { numBlocks: 10, blockSize: 2, tokens: new Uint16Array(20) };
    expect(() => new BatchSampler(data, 4, { seed: 1, epoch: 0, index: 11 })).toThrow(
      /data_position\.index 11 lies beyond the 10 blocks of an epoch of this data/,
    );
    expect(() => new BatchSampler(data, 4, { seed: 1, epoch: 0, index: -1000 })).toThrow(
      /index must be a whole number/,
    );
    // the end of an epoch is a sound place to stand: the next batch starts the next epoch
    expect(new BatchSampler(data, 4, { seed: 1, epoch: 0, index: 10 }).nextIndices()).toHaveLength(4);
  });
});

describe('the step counters on resume', () => {
  it.each([
    [
      'a fractional step',
      (s: Record<string, unknown>) => (s.step = 2.5),
      /hearth_state\.json: step must be a whole number, got 2\.5/,
    ],
    [
      'an optimizer step past the step',
      (s: Record<string, unknown>) => (s.rng_state = { optimizer_step: 41 }),
      /hearth_state\.json: rng_state\.optimizer_step must be a whole number from 0 to the step \(40\), got 41/,
    ],
    [
      'a negative optimizer step',
      (s: Record<string, unknown>) => (s.rng_state = { optimizer_step: -3 }),
      /rng_state\.optimizer_step must be a whole number from 0 to the step \(40\), got -3/,
    ],
    [
      'a loss scale of zero',
      (s: Record<string, unknown>) =>
        (s.rng_state = {
          optimizer_step: 40,
          loss_scaler: {
            scale: 0,
            invScaleUsed: 1,
            growthTracker: 0,
            foundInf: false,
            appliedSteps: 40,
            skippedSteps: 0,
          },
        }),
      /hearth_state\.json: rng_state\.loss_scaler\.scale must be a positive number, got 0/,
    ],
  ])('refuses %s', (_label, edit, message) => {
    expect(() => resumeFrom(withState(edit))).toThrow(message);
  });
});

describe('the AdamW moments at load', () => {
  /** optimizer.safetensors with one value of one moment replaced. */
  function withMoment(label: 'exp_avg' | 'exp_avg_sq', name: string, index: number, value: number) {
    const files = checkpointToFiles(resumable());
    const { expAvg, expAvgSq } = resumable().training!.optimizer!;
    const entries: [string, HostTensor][] = [];
    for (const [which, moments] of [
      ['exp_avg', expAvg],
      ['exp_avg_sq', expAvgSq],
    ] as const) {
      for (const [n, t] of moments) {
        const data = t.data.slice();
        if (which === label && n === name) data[index] = value;
        entries.push([`${which}.${n}`, { shape: t.shape, data }]);
      }
    }
    files.set('optimizer.safetensors', writeSafetensors(entries));
    return files;
  }

  it('refuses a negative second moment, naming the tensor', () => {
    expect(() => checkpointFromFiles(withMoment('exp_avg_sq', 'h.1.attn.c_proj.weight', 5, -0.25))).toThrow(
      /^optimizer\.safetensors: exp_avg_sq of "h\.1\.attn\.c_proj\.weight" holds -0\.25 at element 5; a second moment is a mean of squares and cannot be negative$/,
    );
  });

  it('refuses moments that are not finite, naming the tensor', () => {
    expect(() => checkpointFromFiles(withMoment('exp_avg', 'wte.weight', 7, NaN))).toThrow(
      /^optimizer\.safetensors: exp_avg of "wte\.weight" holds NaN at element 7$/,
    );
    expect(() => checkpointFromFiles(withMoment('exp_avg_sq', 'ln_f.bias', 0, Infinity))).toThrow(
      /^optimizer\.safetensors: exp_avg_sq of "ln_f\.bias" holds Infinity at element 0$/,
    );
  });

  it('accepts a second moment of zero and of negative zero', () => {
    expect(checkpointFromFiles(withMoment('exp_avg_sq', 'ln_f.bias', 0, -0)).training!.optimizer).not.toBeNull();
  });
});
