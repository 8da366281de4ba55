// LoRA from the command line, as a user runs it: train a small Llama base, train a LoRA adapter on it (saved as PEFT
// saves one, the base untouched), merge the adapter into the base with `hearth merge` (only the adapted weights
// change; the merged model evaluates as trained), and refuse LoRA flags that do not fit.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth } from './hearth_cli.ts';
import { readSafetensors } from '../../src/core/checkpoint/safetensors.ts';

const tensors = (file: string) => readSafetensors(new Uint8Array(readFileSync(file))).tensors;

describe('hearth CLI with LoRA', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-lora-'));
    writeFileSync(join(dir, 'corpus.txt'), 'to be or not to be, that is the question.\n'.repeat(100));
  });

  it('trains an adapter on a frozen base, saves it as PEFT does, and merges it back', () => {
    const corpus = join(dir, 'corpus.txt');
    const common = ['--per_device_train_batch_size', '4', '--block_size', '16', '--eval_strategy', 'no'];
    const base = join(dir, 'base');
    const b = hearth(
      'train',
      ...['--data', corpus, '--model', 'llama-tiny', '--tokenizer', 'char', '--out', base, '--max_steps', '2'],
      ...common,
    );
    expect(b.code, b.stderr).toBe(0);
    const baseFinal = join(base, 'final');

    const out = join(dir, 'lora');
    const t = hearth(
      'train',
      ...['--data', corpus, '--model', baseFinal, '--out', out, '--max_steps', '12', '--learning_rate', '1e-2'],
      ...['--lora_r', '4', '--lora_alpha', '8', '--lora_target_modules', 'q_proj,v_proj', '--lora_dropout', '0.05'],
      ...['--logging_steps', '4', '--save_steps', '6'],
      ...common,
    );
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(
      /LoRA: r 4, lora_alpha 8 \(scale 2\), lora_dropout 0.05, on 4 layers \(q_proj, v_proj\); \d+ trainable/,
    );
    const losses = [...t.stdout.matchAll(/^step \d+\/12 .* loss ([\d.]+)/gm)].map((m) => Number(m[1]));
    expect(losses.length).toBe(3);
    expect(losses[2]).toBeLessThan(losses[0]);
    const final = join(out, 'final');
    for (const d of [join(out, 'checkpoint-6'), final]) {
      expect(existsSync(join(d, 'adapter_model.safetensors')), d).toBe(true);
      expect(existsSync(join(d, 'model.safetensors')), d).toBe(false);
    }
    expect(existsSync(join(out, 'checkpoint-6', 'optimizer.safetensors'))).toBe(true); // AdamW's moments of the adapter
    // Resumed from checkpoint-6 (its base from adapter_config.json), step 12 logs what the uninterrupted run logged.
    const resumed = hearth(
      'train',
      '--data',
      corpus,
      '--resume',
      join(out, 'checkpoint-6'),
      '--out',
      join(dir, 'again'),
      ...['--save_steps', '3', '--save_total_limit', '1'],
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    // save_total_limit rotates adapter checkpoints as it does full ones: step 9's went once step 12's was written.
    expect(existsSync(join(dir, 'again', 'checkpoint-9'))).toBe(false);
    expect(existsSync(join(dir, 'again', 'checkpoint-12', 'adapter_model.safetensors'))).toBe(true);
    expect(resumed.stderr).toContain(
      `LoRA: continuing the adapter of ${join(out, 'checkpoint-6')} (r 4) on ${baseFinal}`,
    );
    const step12 = (s: string) => s.match(/^step 12\/12 .*$/m)![0].replace(/ tokens\/s.*/, '');
    expect(step12(resumed.stdout)).toBe(step12(t.stdout));
    const config = JSON.parse(readFileSync(join(final, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: baseFinal,
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.05,
      target_modules: ['q_proj', 'v_proj'],
      bias: 'none',
      fan_in_fan_out: false,
    });
    const adapter = tensors(join(final, 'adapter_model.safetensors'));
    expect(adapter.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.shape[1]).toBe(4);
    expect(adapter.size).toBe(8);

    const merged = join(dir, 'merged');
    const m = hearth('merge', '--base', baseFinal, '--adapter', final, '--out', merged);
    expect(m.code, m.stderr).toBe(0);
    const before = tensors(join(baseFinal, 'model.safetensors'));
    const after = tensors(join(merged, 'model.safetensors'));
    for (const [name, w] of before) {
      const changed = /self_attn\.(q|v)_proj\.weight$/.test(name);
      const same = w.data.every((v, i) => v === after.get(name)!.data[i]);
      expect(same, name).toBe(!changed);
    }
    // The merged model evaluates as the adapter trained it: below the first logged loss (the base's, nearly).
    const e = hearth('eval', '--model', merged, '--data', corpus, '--block_size', '16', '--json');
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout.trim().split('\n').pop()!).eval_loss).toBeLessThan(losses[0]);

    const wrong = hearth(
      'train',
      '--data',
      corpus,
      '--model',
      baseFinal,
      '--out',
      out,
      '--lora_r',
      '4',
      '--lora_target_modules',
      'c_attn',
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      'LoRA target_modules [c_attn] match no linear layer of this Llama model; its linear layers are q_proj',
    );
    const stray = hearth('train', '--data', corpus, '--lora_alpha', '16');
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--lora_alpha is for LoRA training: give --lora_r too');
  }, 900_000);
});
