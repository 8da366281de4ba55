// `hearth train --dropout P`: a new model's three dropout rates, written to its config.json.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth } from './hearth_cli.ts';

describe('hearth train --dropout', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-dropout-'));
    writeFileSync(join(dir, 'corpus.txt'), 'the quick brown fox jumps over the lazy dog. '.repeat(40));
  });

  it('sets embd_pdrop, attn_pdrop and resid_pdrop of a new model, and refuses a rate outside [0, 1)', () => {
    const out = join(dir, 'out');
    const common = [
      '--data',
      join(dir, 'corpus.txt'),
      '--model',
      'toy',
      '--tokenizer',
      'char',
      '--max_steps',
      '2',
      '--block_size',
      '16',
      '--save_strategy',
      'no',
    ];
    const t = hearth('train', ...common, '--dropout', '0.25', '--out', out);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/dropout embd 0\.25, attn 0\.25, resid 0\.25/);
    const config = JSON.parse(readFileSync(join(out, 'final', 'config.json'), 'utf8'));
    expect([config.embd_pdrop, config.attn_pdrop, config.resid_pdrop]).toEqual([0.25, 0.25, 0.25]);

    const bad = hearth('train', ...common, '--dropout', '1', '--out', join(dir, 'bad'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--dropout takes a probability/);
    const help = hearth('train', '--help');
    expect(help.stdout).toMatch(/--dropout P .*embd_pdrop/s);
  });
});
