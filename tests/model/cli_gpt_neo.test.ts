// The CLI end to end with a GPT-Neo model, as a user runs it: train the gpt-neo-tiny preset on a text file (the loss
// falls), generate from it with and without the KV cache (the same greedy text), export its Hugging Face folder under
// GPTNeoForCausalLM's names, and refuse a GGUF export by name.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth } from './hearth_cli.ts';

describe('hearth CLI with a GPT-Neo model', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-gpt-neo-'));
    writeFileSync(join(dir, 'corpus.txt'), 'once upon a time there was a little dog.\n'.repeat(100));
  });

  it('trains gpt-neo-tiny, generates with and without the cache, exports; refuses GGUF', () => {
    const out = join(dir, 'out');
    const t = hearth(
      'train',
      ...['--data', join(dir, 'corpus.txt'), '--model', 'gpt-neo-tiny', '--tokenizer', 'char', '--out', out],
      ...['--max_steps', '12', '--per_device_train_batch_size', '4', '--block_size', '16', '--learning_rate', '1e-2'],
      ...['--logging_steps', '4', '--save_steps', '12', '--eval_strategy', 'no', '--dropout', '0'],
    );
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/model: GPT-Neo, .* num_layers 2 · hidden_size 128 · num_heads 4 · window_size 64/);
    expect(t.stderr).toMatch(/dropout embed 0, attention 0, resid 0 \(training only\)/);
    const losses = [...t.stdout.matchAll(/^step \d+\/12 .* loss ([\d.]+)/gm)].map((m) => Number(m[1]));
    expect(losses.length).toBe(3);
    expect(losses[2]).toBeLessThan(losses[0]);
    const final = join(out, 'final');
    const config = JSON.parse(readFileSync(join(final, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt_neo',
      architectures: ['GPTNeoForCausalLM'],
      attention_layers: ['global', 'local'],
      window_size: 64,
    });

    const args = ['--prompt', 'once upon', '--max-new-tokens', '6', '--greedy'];
    const g = hearth('generate', '--model', final, ...args);
    expect(g.code, g.stderr).toBe(0);
    expect(hearth('generate', '--model', final, ...args, '--no-cache').stdout).toBe(g.stdout);

    const exported = join(dir, 'exported');
    const x = hearth('export', '--model', final, '--out', exported);
    expect(x.code, x.stderr).toBe(0);
    const header = readFileSync(join(exported, 'model.safetensors'));
    const names = Object.keys(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString()));
    expect(names).toContain('transformer.h.1.attn.attention.q_proj.weight');
    expect(names).not.toContain('lm_head.weight');

    const gguf = hearth('export', '--model', final, '--format', 'gguf', '--out', join(dir, 'model.gguf'));
    expect(gguf.code).not.toBe(0);
    expect(gguf.stderr).toMatch(/model_type "gpt_neo" has no GGUF layout/);
  }, 900_000); // five runs of the CLI; slow on SwiftShader
});
