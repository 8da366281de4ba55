// The CLI's flag parser: values, training arguments by their Hugging Face names, and refusals.
import { describe, it, expect } from 'vitest';
import { parseArgs, number, one, UsageError, type FlagSpec } from '../../src/cli/args.ts';

const spec: Record<string, FlagSpec> = {
  data: { many: true },
  dropout: {},
  out: {},
  prompt: { allowEmpty: true },
};

describe('hearth flags', () => {
  it('reads values given inline or after the flag, and training arguments under either spelling', () => {
    const p = parseArgs(
      ['--data', 'a.txt', 'b.txt', '--dropout=0.2', '--learning-rate', '3e-4', '--fp16', 'true'],
      spec,
      true,
    );
    expect(p.flags.get('data')).toEqual(['a.txt', 'b.txt']);
    expect(number(p, 'dropout')).toBe(0.2);
    expect(p.training).toEqual({ learning_rate: 3e-4, fp16: true });
  });

  it('refuses an empty value for every flag, inline or separate, instead of reading it as 0 or the current folder', () => {
    for (const argv of [
      ['--dropout='],
      ['--dropout', ''],
      ['--dropout', '  '],
      ['--out='],
      ['--out', ''],
      ['--data', 'a.txt', ''],
      ['--learning_rate='],
      ['--lr_scheduler_type='],
    ]) {
      expect(() => parseArgs(argv, spec, true), argv.join(' ')).toThrow(UsageError);
      expect(() => parseArgs(argv, spec, true), argv.join(' ')).toThrow(/needs a value|takes a number/);
    }
    expect(() => parseArgs(['--dropout='], spec, true)).toThrow('--dropout needs a value, got an empty one');
  });

  it('keeps an empty value where it means something (an empty prompt)', () => {
    expect(one(parseArgs(['--prompt='], spec, false), 'prompt')).toBe('');
    expect(one(parseArgs(['--prompt', ''], spec, false), 'prompt')).toBe('');
  });
});
