// `hearth` refusing what it cannot use, before any work, with a message that names the flag or the file.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import { hearth } from './hearth_cli.ts';

describe('hearth refusals', () => {
  let dir = '';
  let corpus = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-cli-refusals-'));
    corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
  });
  const train = (...args: string[]) =>
    hearth('train', '--data', corpus, '--tokenizer', 'char', '--max_steps', '1', '--block_size', '16', ...args);

  it('refuses an evaluation share outside [0, 1)', () => {
    const r = train('--eval_split_fraction', '5', '--out', join(dir, 'fraction'));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--eval_split_fraction must be a share from 0 up to \(not including\) 1, got 5/);
  });

  it('names --out when it is a file, or lies under one, before reading any data', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const r = train('--out', file);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--out ${file} is a file, not a folder`);
    const under = train('--out', join(file, 'run'));
    expect(under.code, under.stderr).toBe(2);
    expect(under.stderr).toContain(`--out ${join(file, 'run')} cannot be made: ${file} is a file, not a folder`);
  });

  it('refuses a pipe as --data, saying it must be a regular file', () => {
    const bin = new URL('../../bin/hearth.js', import.meta.url).pathname;
    const cmd = `node ${bin} train --data <(cat ${corpus}) --tokenizer char --max_steps 1 --out ${join(dir, 'pipe')}`;
    const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: 400_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /\/dev\/fd\/\d+ is not a regular file \(a pipe or a device, such as <\(cat data.txt\)\): the data is read more than once, so save it to a file first/,
    );
  });

  it('says why each data file could not be read when none could', () => {
    const binary = join(dir, 'random.bin');
    writeFileSync(
      binary,
      Uint8Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256),
    );
    const r = hearth('train', '--data', binary, '--max_steps', '1', '--out', join(dir, 'binary'));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/Nothing to train on: no file could be read\.\nrandom\.bin: holds NUL bytes/);
  });

  it('refuses an empty flag value', () => {
    const r = train('--dropout=', '--out', join(dir, 'empty'));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--dropout needs a value, got an empty one/);
  });

  describe('a model whose tokenizer.json is damaged or does not fit it', () => {
    let model = '';
    beforeAll(() => {
      const t = train('--save_strategy', 'no', '--out', join(dir, 'model'));
      expect(t.code, t.stderr).toBe(0);
      model = join(dir, 'model', 'final');
    }, 400_000);
    /** A copy of the model with its tokenizer.json edited. */
    const withTokenizer = (
      name: string,
      edit: (json: { model: { vocab: Record<string, number> }; added_tokens: unknown[] }) => unknown,
    ) => {
      const copy = join(dir, name);
      cpSync(model, copy, { recursive: true });
      const json = JSON.parse(readFileSync(join(copy, 'tokenizer.json'), 'utf8'));
      writeFileSync(join(copy, 'tokenizer.json'), JSON.stringify(edit(json) ?? json));
      return copy;
    };

    it('refuses a tokenizer larger than the model when it loads, naming tokenizer.json and both sizes', () => {
      const vocabSize = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')).vocab_size;
      const bigger = charTokenizerFrom('the quick brown fox jumps over the lazy dog. 0123456789XYZ');
      const copy = withTokenizer('bigger', () => JSON.parse(bigger.toTokenizerJson()));
      const message = `tokenizer.json has ${bigger.vocabSize} tokens but the model (config.json) has vocab_size ${vocabSize}`;
      const e = hearth('eval', '--model', copy, '--data', corpus, '--block_size', '16');
      expect(e.code, e.stderr).toBe(1);
      expect(e.stderr).toContain(message);
      const g = hearth('generate', '--model', copy, '--prompt', 'the', '--max-new-tokens', '2');
      expect(g.stderr).toContain(message);
      const t = hearth('train', '--model', copy, '--data', corpus, '--max_steps', '1', '--out', join(dir, 'ft'));
      expect(t.stderr).toContain(message);
    });

    it('refuses a character vocabulary with an id past its entries, or with no characters', () => {
      const huge = withTokenizer('huge-id', (j) => void (j.model.vocab['Z'] = 4294967294));
      const h = hearth('eval', '--model', huge, '--data', corpus, '--block_size', '16');
      expect(h.code, h.stderr).toBe(1);
      expect(h.stderr).toMatch(/tokenizer\.json: model\.vocab: the id of "Z" is 4294967294, beyond the \d+ tokens/);
      const empty = withTokenizer('empty', (j) => {
        j.model.vocab = { '<|unk|>': 0, '<|endoftext|>': 1 };
        j.added_tokens = [];
      });
      const z = hearth('eval', '--model', empty, '--data', corpus, '--block_size', '16');
      expect(z.code, z.stderr).toBe(1);
      expect(z.stderr).toContain('tokenizer.json: model.vocab: holds no characters');
    });
  });
});
