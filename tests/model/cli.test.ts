// The CLI end to end, as a user runs it: train a tiny model on a text file, evaluate it, generate from it.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth, hearthFromSources } from './hearth_cli.ts';

describe('hearth CLI', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
    writeFileSync(join(dir, 'corpus.txt'), 'to be or not to be, that is the question. 今天天气很好。\n'.repeat(120));
  });

  it('trains, evaluates and generates from a tiny model', () => {
    const out = join(dir, 'out');
    // bin/hearth.js on the TypeScript sources, as npx runs it; the other runs take the bundle (hearth_cli.ts).
    const t = hearthFromSources(
      'train',
      '--data',
      join(dir, 'corpus.txt'),
      '--model',
      'toy',
      '--tokenizer',
      'char',
      '--out',
      out,
      '--max_steps',
      '40',
      '--per_device_train_batch_size',
      '4',
      '--block_size',
      '24',
      '--learning_rate',
      '1e-2',
      '--logging_steps',
      '10',
      '--save_steps',
      '20',
      '--save_total_limit',
      '1',
      '--eval_strategy',
      'steps',
      '--eval_steps',
      '20',
    );
    expect(t.code, t.stderr).toBe(0);
    const losses = [...t.stdout.matchAll(/^step \d+\/40 .* loss ([\d.]+)/gm)].map((m) => Number(m[1]));
    expect(losses.length).toBe(4); // plain lines when piped, one per logged step
    expect(losses[3]).toBeLessThan(losses[0]);
    expect(t.stdout).toMatch(/eval step 40: eval_loss [\d.]+ perplexity/);
    // save_total_limit 1: only the newest checkpoint folder stays
    expect(existsSync(join(out, 'checkpoint-20'))).toBe(false);
    for (const f of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'hearth_state.json',
      'optimizer.safetensors',
    ]) {
      expect(existsSync(join(out, 'checkpoint-40', f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'final', 'config.json'), 'utf8')).model_type).toBe('gpt2');
    // the final folder goes on in PyTorch with the run's own arguments
    expect(readFileSync(join(out, 'final', 'train.py'), 'utf8')).toContain('    eval_steps=20,');
    for (const f of ['requirements.txt', 'ds_config.json', 'README.md'])
      expect(existsSync(join(out, 'final', f)), f).toBe(true);

    const e = hearth(
      'eval',
      '--model',
      join(out, 'final'),
      '--data',
      join(dir, 'corpus.txt'),
      '--block_size',
      '24',
      '--json',
    );
    expect(e.code, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout.trim().split('\n').pop()!);
    expect(r.perplexity).toBeCloseTo(Math.exp(r.eval_loss), 6);
    expect(r.eval_loss).toBeLessThan(losses[0]);

    const g = hearth(
      'generate',
      '--model',
      join(out, 'final'),
      '--prompt',
      '今天',
      '--max-new-tokens',
      '8',
      '--seed',
      '3',
      '--num-return-sequences',
      '2',
    );
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toMatch(/--- 1 ---\n今天/);
    expect(g.stdout).toMatch(/--- 2 ---\n今天/);
    expect(g.stderr).toMatch(/seed 3\)/);

    const b = hearth(
      'generate',
      '--model',
      join(out, 'final'),
      '--prompt',
      '今天',
      '--max-new-tokens',
      '6',
      '--num-beams',
      '3',
      '--num-return-sequences',
      '2',
      '--no-repeat-ngram-size',
      '2',
    );
    expect(b.code, b.stderr).toBe(0);
    const scores = [...b.stdout.matchAll(/^--- \d \(score (-?[\d.]+)\) ---\n今天/gm)].map((m) => Number(m[1]));
    expect(scores.length).toBe(2);
    expect(scores[0]).toBeGreaterThanOrEqual(scores[1]);
    expect(b.stderr).not.toMatch(/seed/); // beam search draws nothing
  });

  it('refuses bad flags and bad training arguments with a message naming them', () => {
    const bad = hearth('train', '--data', join(dir, 'corpus.txt'), '--learning_rate', '-1');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/learning_rate/);
    const unknown = hearth('train', '--bogus', '1');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown flag --bogus/);
    const help = hearth('train', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/gradient_accumulation_steps/);
  });
});
