// The CLI end to end with a GPT-NeoX model, as a user runs it: train the neox-tiny preset on a text file (the loss
// falls), evaluate it, generate from it with and without the KV cache, export its Hugging Face folder (gpt_neox.
// names, embed_out outside them) and generate from that folder the same tokens; then train a LoRA adapter on it (PEFT's
// default target, query_key_value).
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth } from './hearth_cli.ts';

describe('hearth CLI with a GPT-NeoX model', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-neox-'));
    writeFileSync(join(dir, 'corpus.txt'), 'to be or not to be, that is the question.\n'.repeat(100));
  });

  it('trains neox-tiny, evaluates, generates with and without the cache, exports, generates from the export, trains LoRA', () => {
    const out = join(dir, 'out');
    const t = hearth(
      'train',
      ...['--data', join(dir, 'corpus.txt'), '--model', 'neox-tiny', '--tokenizer', 'char', '--out', out],
      ...['--max_steps', '16', '--per_device_train_batch_size', '4', '--block_size', '16', '--learning_rate', '1e-2'],
      ...['--logging_steps', '4', '--save_steps', '16', '--eval_strategy', 'no'],
    );
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/model: GPT-NeoX, .* rotary dims 8 of 32/);
    const losses = [...t.stdout.matchAll(/^step \d+\/16 .* loss ([\d.]+)/gm)].map((m) => Number(m[1]));
    expect(losses.length).toBe(4);
    expect(losses[3]).toBeLessThan(losses[0]);
    const final = join(out, 'final');
    const config = JSON.parse(readFileSync(join(final, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt_neox',
      architectures: ['GPTNeoXForCausalLM'],
      rotary_pct: 0.25,
      use_parallel_residual: true,
    });

    const e = hearth('eval', '--model', final, '--data', join(dir, 'corpus.txt'), '--block_size', '16', '--json');
    expect(e.code, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout.trim().split('\n').pop()!);
    expect(r.eval_loss).toBeLessThan(losses[0]);

    const prompt = ['--prompt', 'to be', '--max-new-tokens', '6', '--greedy'];
    const g = hearth('generate', '--model', final, ...prompt);
    expect(g.code, g.stderr).toBe(0);
    const uncached = hearth('generate', '--model', final, ...prompt, '--no-cache');
    expect(uncached.stdout).toBe(g.stdout);

    const exported = join(dir, 'exported');
    const x = hearth('export', '--model', final, '--out', exported);
    expect(x.code, x.stderr).toBe(0);
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json'])
      expect(existsSync(join(exported, f)), f).toBe(true);
    const header = readFileSync(join(exported, 'model.safetensors'));
    const names = Object.keys(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString()));
    expect(names).toContain('gpt_neox.layers.1.attention.query_key_value.weight');
    expect(names).toContain('embed_out.weight');
    const again = hearth('generate', '--model', exported, ...prompt);
    expect(again.stdout).toBe(g.stdout);

    // A LoRA adapter on the trained model: PEFT's default target for GPT-NeoX, the fused query_key_value.
    const adapterOut = join(dir, 'lora');
    const l = hearth(
      'train',
      ...['--data', join(dir, 'corpus.txt'), '--model', final, '--out', adapterOut, '--lora_r', '4'],
      ...['--max_steps', '2', '--per_device_train_batch_size', '4', '--block_size', '16', '--eval_strategy', 'no'],
    );
    expect(l.code, l.stderr).toBe(0);
    expect(l.stderr).toMatch(/LoRA: r 4, .* on 2 layers \(query_key_value\)/);
    expect(JSON.parse(readFileSync(join(adapterOut, 'final', 'adapter_config.json'), 'utf8'))).toMatchObject({
      target_modules: ['query_key_value'],
      fan_in_fan_out: false,
    });
    expect(existsSync(join(adapterOut, 'final', 'adapter_model.safetensors'))).toBe(true);
  });
});
