// `hearth train` on record files: fine-tuning examples as TRL's SFTTrainer makes them, with its flag names.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth } from './hearth_cli.ts';

describe('hearth train on fine-tuning records', () => {
  let dir = '';
  let records = '';
  let text = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-sft-'));
    records = join(dir, 'pairs.jsonl');
    const lines = [];
    for (let i = 0; i < 24; i++)
      lines.push(JSON.stringify({ prompt: `what is ${i} plus one? `, completion: `it is ${i + 1}.` }));
    lines.push('{"prompt": "a broken record"');
    writeFileSync(records, lines.join('\n') + '\n');
    text = join(dir, 'notes.txt');
    writeFileSync(text, 'plain notes for language modelling. '.repeat(30));
  });

  it('trains on prompt-completion records, counting each file, the broken record named', () => {
    const out = join(dir, 'run');
    const r = hearth(
      'train',
      '--data',
      records,
      '--tokenizer',
      'char',
      '--max_length',
      '40',
      '--max_steps',
      '2',
      '--per_device_train_batch_size',
      '4',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/pairs\.jsonl: 24 of 2[45] records made examples, \d+ tokens/);
    expect(r.stderr).toMatch(/pairs\.jsonl.*line 25/);
    expect(r.stderr).toMatch(/data: \d+ training blocks of \d+ tokens/);
    expect(existsSync(join(out, 'final', 'model.safetensors'))).toBe(true);
  });

  it("packs with TRL's default bfd (padding-free) and with bfd_split, and refuses SFT flags on text files", () => {
    for (const strategy of [null, 'bfd_split']) {
      const out = join(dir, `packed-${strategy ?? 'bfd'}`);
      const packed = hearth(
        'train',
        '--data',
        records,
        '--tokenizer',
        'char',
        '--packing',
        'true',
        ...(strategy ? ['--packing_strategy', strategy] : []),
        '--max_length',
        '64',
        '--max_steps',
        '2',
        '--per_device_train_batch_size',
        '2',
        '--out',
        out,
      );
      expect(packed.code, packed.stderr).toBe(0);
      // 24 examples of about 30 tokens, two to a row of at most 64 (a tenth held out for evaluation)
      const blocks = Number(/data: (\d+) training blocks of \d+ tokens/.exec(packed.stderr)?.[1]);
      expect(blocks, packed.stderr).toBeGreaterThan(0);
      expect(blocks, packed.stderr).toBeLessThan(18);
      expect(existsSync(join(out, 'final', 'model.safetensors'))).toBe(true);
    }
    const stray = hearth('train', '--data', text, '--tokenizer', 'char', '--max_length', '32', '--out', join(dir, 't'));
    expect(stray.code, stray.stderr).toBe(2);
    expect(stray.stderr).toMatch(/--max_length is for record files/);
  });

  it('gives a new GPT-2-tokenizer model a chat template, keeps it in the checkpoint, and chats with --chat', () => {
    const chats = join(dir, 'chats.jsonl');
    const lines = [];
    for (let i = 0; i < 12; i++)
      lines.push(
        JSON.stringify({
          messages: [
            { role: 'user', content: `hi ${i}` },
            { role: 'assistant', content: `hello ${i}` },
          ],
        }),
      );
    writeFileSync(chats, lines.join('\n') + '\n');
    const out = join(dir, 'chat-run');
    const r = hearth('train', '--data', chats, '--assistant_only_loss', 'true', '--max_steps', '2', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/chats\.jsonl: 12 of 12 records made examples/);
    const final = join(out, 'final');
    const template = readFileSync(join(final, 'chat_template.jinja'), 'utf8');
    expect(JSON.parse(readFileSync(join(final, 'tokenizer_config.json'), 'utf8'))).toMatchObject({
      chat_template: template,
      eos_token: '<|endoftext|>',
    });
    expect(existsSync(join(final, 'special_tokens_map.json'))).toBe(true);
    const g = hearth('generate', '--model', final, '--prompt', 'hi 3', '--chat', '--greedy', '--max_new_tokens', '4');
    expect(g.code, g.stderr).toBe(0);
    // the reply alone: the rendered prompt is not echoed
    expect(g.stdout).not.toMatch(/im_start/);
    // a model whose tokenizer has no template is refused
    const plain = join(dir, 'run', 'final');
    const refused = hearth('generate', '--model', plain, '--prompt', 'x', '--chat');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--chat needs a chat template/);
  });
});
