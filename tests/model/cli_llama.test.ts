// The CLI end to end with a Llama-family model, as a user runs it: train the llama-tiny preset on a text file (the
// loss falls), evaluate it, generate from it with the KV cache, export its Hugging Face folder, and refuse a
// model_type Hearth does not run, naming the ones it does.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth } from './hearth_cli.ts';

describe('hearth CLI with a Llama model', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-llama-'));
    writeFileSync(join(dir, 'corpus.txt'), 'to be or not to be, that is the question.\n'.repeat(100));
  });

  it('trains llama-tiny, evaluates, generates, exports; refuses an unknown model_type', () => {
    const out = join(dir, 'out');
    const t = hearth(
      'train',
      ...['--data', join(dir, 'corpus.txt'), '--model', 'llama-tiny', '--tokenizer', 'char', '--out', out],
      ...['--max_steps', '16', '--per_device_train_batch_size', '4', '--block_size', '16', '--learning_rate', '1e-2'],
      ...['--logging_steps', '4', '--save_steps', '16', '--eval_strategy', 'no'],
    );
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/model: Llama, .* num_key_value_heads 2/);
    const losses = [...t.stdout.matchAll(/^step \d+\/16 .* loss ([\d.]+)/gm)].map((m) => Number(m[1]));
    expect(losses.length).toBe(4);
    expect(losses[3]).toBeLessThan(losses[0]);
    const final = join(out, 'final');
    const config = JSON.parse(readFileSync(join(final, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'llama', architectures: ['LlamaForCausalLM'], num_key_value_heads: 2 });

    const e = hearth('eval', '--model', final, '--data', join(dir, 'corpus.txt'), '--block_size', '16', '--json');
    expect(e.code, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout.trim().split('\n').pop()!);
    expect(r.eval_loss).toBeLessThan(losses[0]);

    const g = hearth('generate', '--model', final, '--prompt', 'to be', '--max-new-tokens', '6', '--greedy');
    expect(g.code, g.stderr).toBe(0);
    const uncached = hearth(
      'generate',
      '--model',
      final,
      '--prompt',
      'to be',
      '--max-new-tokens',
      '6',
      '--greedy',
      '--no-cache',
    );
    expect(uncached.stdout).toBe(g.stdout);

    const exported = join(dir, 'exported');
    const x = hearth('export', '--model', final, '--out', exported);
    expect(x.code, x.stderr).toBe(0);
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json'])
      expect(existsSync(join(exported, f)), f).toBe(true);
    expect(existsSync(join(exported, 'hearth_state.json'))).toBe(false);
    const header = readFileSync(join(exported, 'model.safetensors'));
    const names = Object.keys(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString()));
    expect(names).toContain('model.layers.1.mlp.gate_proj.weight');
    const again = hearth('generate', '--model', exported, '--prompt', 'to be', '--max-new-tokens', '6', '--greedy');
    expect(again.stdout).toBe(g.stdout);

    const foreign = join(dir, 'foreign');
    cpSync(exported, foreign, { recursive: true });
    writeFileSync(join(foreign, 'config.json'), JSON.stringify({ ...config, model_type: 'falcon' }));
    const refused = hearth('generate', '--model', foreign, '--prompt', 'to');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /model_type "falcon"; Hearth runs GPT-2 models .*Llama models .*Qwen2 models .*GPT-NeoX models/,
    );
  });
});
