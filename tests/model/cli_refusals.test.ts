// `hearth` refusing what it cannot use, before any work, with a message that names the flag or the file.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
