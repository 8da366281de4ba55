// Loading text files into TextDataset blocks: streaming tokenization, joining with <|endoftext|>,
// splits, the messages for bad files, and the token cache.
import 'fake-indexeddb/auto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  DatasetError,
  indexedDbTokenCache,
  loadTextDataset,
  memoryTokenCache,
  readBlocks,
  sourceFromBytes,
  sourceFromText,
  tokenizeSource,
  type BlockDataset,
  type LoadProgress,
} from '../../src/core/data/index.ts';
import { openTextBlocks, residentBlocks, type StoredBlocks } from '../../src/core/data/blocks.ts';
import { folderTokenCache, sourceFromPath } from '../../src/core/data/node.ts';
import { charTokenizerFrom, loadGpt2Tokenizer } from '../../src/core/tokenizer/index.ts';

const ALPHABET = 'abcdefghij \n';
const chars = charTokenizerFrom(ALPHABET);
const bytes = (...b: number[]) => new Uint8Array(b);
/** Every token of the blocks, end to end, as read from where they are kept. */
const allTokens = async (data: BlockDataset) =>
  Array.from((await residentBlocks(data, (n) => new Uint32Array(n))).tokens);
const blockAt = async (data: BlockDataset, i: number) => Array.from((await readBlocks(data, [i]))[0].ids);

describe('streaming tokenization', () => {
  it('gives the same GPT-2 ids as encoding the whole text, however the bytes are chunked', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const text = 'Hello there,   world!\n\n今天天气很好,我们可以去 🎉🎉\tend  \n'.repeat(40) + 'x<|endoftext|>y';
    const whole = gpt2.encode(text);
    for (const chunkSize of [1, 3, 7, 64, 1 << 16]) {
      const source = sourceFromBytes('t.txt', new TextEncoder().encode(text), chunkSize);
      expect(Array.from(await tokenizeSource(source, gpt2)), `chunks of ${chunkSize}`).toEqual(whole);
    }
  });
});

describe('loadTextDataset', () => {
  it('joins files with <|endoftext|> and cuts blocks, dropping the remainder', async () => {
    const a = 'abcdefghij'.repeat(3); // 30 tokens
    const b = 'jihgfedcba'.repeat(2); // 20 tokens
    const data = await loadTextDataset([sourceFromText('a.txt', a), sourceFromText('b.txt', b)], {
      tokenizer: chars,
      blockSize: 8,
      evalFraction: 0,
    });
    const joined = [...chars.encode(a), chars.eosTokenId, ...chars.encode(b)]; // 51 tokens -> 6 blocks
    expect(data.train.numBlocks).toBe(6);
    expect(data.eval).toBeNull();
    expect(await allTokens(data.train)).toEqual(joined.slice(0, 48));
    expect(await blockAt(data.train, 3)).toEqual(joined.slice(24, 32));
    expect(data.files.map((f) => f.tokens)).toEqual([30, 20]);
  });

  it('holds out the last blocks for evaluation, or uses separate eval files', async () => {
    const text = 'abcdefghij'.repeat(10); // 100 tokens, 12 blocks of 8
    const split = await loadTextDataset([sourceFromText('a.txt', text)], {
      tokenizer: chars,
      blockSize: 8,
      evalFraction: 0.25,
    });
    expect(split.train.numBlocks).toBe(9);
    expect(split.eval?.numBlocks).toBe(3);
    expect(await blockAt(split.eval!, 0)).toEqual(chars.encode(text).slice(72, 80));

    const separate = await loadTextDataset([sourceFromText('a.txt', text)], {
      tokenizer: chars,
      blockSize: 8,
      evalSources: [sourceFromText('e.txt', 'jjjjjjjjjjjjjjjjj')],
    });
    expect(separate.train.numBlocks).toBe(12);
    expect(separate.eval?.numBlocks).toBe(2);
  });

  it('refuses an evaluation share outside [0, 1) before reading any file', async () => {
    for (const evalFraction of [5, 1, -0.1, NaN]) {
      const unread = {
        ...sourceFromText('a.txt', 'abcdefghij'.repeat(10)),
        stream: () => {
          throw new Error('read');
        },
      };
      const attempt = loadTextDataset([unread], { tokenizer: chars, blockSize: 8, evalFraction });
      await expect(attempt, String(evalFraction)).rejects.toThrow(
        `eval_split_fraction must be a share from 0 up to (not including) 1, got ${evalFraction}`,
      );
    }
  });

  it('names each bad file, skips it, and still loads the others', async () => {
    const good = sourceFromText('good.txt', 'abcdefghij'.repeat(5));
    const sources = [
      good,
      sourceFromBytes('empty.txt', bytes()),
      sourceFromBytes('nul.bin', bytes(0x61, 0x00, 0x62, 0x63)),
      sourceFromBytes(
        'garbage.bin',
        Uint8Array.from({ length: 400 }, (_, i) => 0x80 + (i % 60)),
      ),
      sourceFromBytes('utf16.txt', bytes(0xff, 0xfe, 0x61, 0x00, 0x62, 0x00, 0x0a, 0x00)),
      sourceFromBytes('bom.txt', bytes(0xef, 0xbb, 0xbf, 0x61, 0x62, 0x63)),
      sourceFromText('short.txt', 'ab'),
      sourceFromBytes('utf16-no-bom.txt', new Uint8Array(Array.from('plain text', (c) => [c.charCodeAt(0), 0]).flat())),
      sourceFromBytes('model.zip', zipSync({ 'model/config.json': new TextEncoder().encode('{}') })),
    ];
    const data = await loadTextDataset(sources, { tokenizer: chars, blockSize: 8, evalFraction: 0 });
    const byFile = (name: string) => data.messages.filter((m) => m.file === name);
    expect(byFile('good.txt')).toEqual([]);
    expect(byFile('empty.txt')[0]).toMatchObject({ level: 'error', message: 'is empty' });
    expect(byFile('nul.bin')[0]).toMatchObject({ level: 'error', message: expect.stringMatching(/binary/) });
    expect(byFile('garbage.bin')[0]).toMatchObject({ level: 'error', message: expect.stringMatching(/not UTF-8/) });
    expect(byFile('model.zip')[0]).toMatchObject({
      level: 'error',
      message: expect.stringMatching(/is a zip archive, not text: a model or checkpoint zip is imported as a model/),
    });
    expect(byFile('utf16.txt')[0]).toMatchObject({ level: 'warning', message: expect.stringMatching(/UTF-16/) });
    expect(byFile('bom.txt')[0]).toMatchObject({ level: 'warning', message: expect.stringMatching(/byte-order mark/) });
    expect(byFile('utf16-no-bom.txt')[0]).toMatchObject({
      level: 'error',
      message: expect.stringMatching(/UTF-16 text without a byte-order mark/),
    });
    expect(byFile('short.txt')[0]).toMatchObject({
      level: 'warning',
      message: expect.stringMatching(/less than one block/),
    });
    // good (50) + utf16 "ab\n" (3) + bom "abc" (3) + short (2), joined by 3 eos
    expect(data.files.map((f) => f.name)).toEqual(['good.txt', 'utf16.txt', 'bom.txt', 'short.txt']);
    expect(data.files.map((f) => f.tokens)).toEqual([50, 3, 3, 2]);
    expect(data.train.numBlocks).toBe(Math.floor((50 + 3 + 3 + 2 + 3) / 8));
    const text = chars.decode(await allTokens(data.train));
    expect(text.endsWith('j<|endoftext|>ab\n<|endoftext|>a')).toBe(true); // the rest is the dropped remainder
  });

  it('refuses, with the reasons, when nothing is long enough for one block', async () => {
    const attempt = loadTextDataset([sourceFromText('tiny.txt', 'abc'), sourceFromBytes('empty.txt', bytes())], {
      tokenizer: chars,
      blockSize: 64,
    });
    await expect(attempt).rejects.toThrow(DatasetError);
    await expect(attempt).rejects.toThrow(/less than one block of 64/);
    const error = await attempt.catch((e: DatasetError) => e);
    expect((error as DatasetError).messages.map((m) => m.file)).toEqual(['tiny.txt', 'empty.txt']);
  });

  it("refuses when no file could be read, with each file's reason in the message", async () => {
    const attempt = loadTextDataset(
      [sourceFromBytes('random.bin', bytes(0x61, 0x00, 0x62)), sourceFromBytes('empty.txt', bytes())],
      { tokenizer: chars, blockSize: 8 },
    );
    await expect(attempt).rejects.toThrow(
      'Nothing to train on: no file could be read.\n' +
        'random.bin: holds NUL bytes: it looks like a binary file, not text\n' +
        'empty.txt: is empty',
    );
  });

  it('reports progress in bytes for each file and overall', async () => {
    const text = 'abcdefghij\n'.repeat(20000);
    const progress: LoadProgress[] = [];
    await loadTextDataset([sourceFromText('one.txt', text), sourceFromText('two.txt', text)], {
      tokenizer: chars,
      blockSize: 16,
      onProgress: (p) => progress.push(p),
    });
    const done = progress.map((p) => p.allBytesDone);
    expect(done).toEqual([...done].sort((x, y) => x - y));
    expect(progress.at(-1)).toMatchObject({
      file: 'two.txt',
      bytesDone: text.length,
      allBytesDone: 2 * text.length,
      allBytesTotal: 2 * text.length,
    });
    expect(progress.filter((p) => p.file === 'one.txt').length).toBeGreaterThan(2);
  });
});

describe('token cache', () => {
  const files = () => [sourceFromText('a.txt', 'abcdefghij'.repeat(7)), sourceFromText('b.txt', 'jihg'.repeat(9))];
  const cases = [
    ['memory', memoryTokenCache()],
    ['IndexedDB', indexedDbTokenCache('hearth-test-cache')],
    ['folder', folderTokenCache(mkdtempSync(join(tmpdir(), 'hearth-cache-')))],
  ] as const;
  for (const [name, cache] of cases) {
    it(`${name}: tokenizes once, then serves the same tokens`, async () => {
      const first = await loadTextDataset(files(), { tokenizer: chars, blockSize: 8, cache });
      const second = await loadTextDataset(files(), { tokenizer: chars, blockSize: 8, cache });
      expect(first.files.map((f) => f.cached)).toEqual([false, false]);
      expect(second.files.map((f) => f.cached)).toEqual([true, true]);
      expect(await allTokens(second.train)).toEqual(await allTokens(first.train));
      // A different tokenizer or different content misses.
      const other = charTokenizerFrom(ALPHABET + 'z');
      const third = await loadTextDataset(files(), { tokenizer: other, blockSize: 8, cache });
      expect(third.files.map((f) => f.cached)).toEqual([false, false]);
    });
  }
});

describe('manifest', () => {
  it('opens the same blocks again from the cache (a run resumed after a reload), or null once an entry is gone', async () => {
    const cache = folderTokenCache(mkdtempSync(join(tmpdir(), 'hearth-cache-')));
    const files = [sourceFromText('a.txt', 'abcdefghij'.repeat(7)), sourceFromText('b.txt', 'jihg'.repeat(9))];
    const data = await loadTextDataset(files, { tokenizer: chars, blockSize: 8, cache, evalFraction: 0.2 });
    for (const part of [data.train, data.eval!]) {
      const manifest = JSON.parse(JSON.stringify((part as StoredBlocks).manifest));
      const again = (await openTextBlocks(manifest, cache))!;
      expect(again.numBlocks).toBe(part.numBlocks);
      expect(await allTokens(again)).toEqual(await allTokens(part));
    }
    const manifest = data.train.manifest!;
    expect(await openTextBlocks({ ...manifest, parts: [{ key: 'v1:gone' }] }, cache)).toBeNull();
    // Blocks held only in memory have no manifest.
    const resident = await loadTextDataset(files, { tokenizer: chars, blockSize: 8 });
    expect(resident.train.manifest).toBeUndefined();
  });
});

describe('Node sources', () => {
  it('reads a file by path as a stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-src-'));
    const path = join(dir, 'corpus.txt');
    writeFileSync(path, 'abc def\n'.repeat(10000));
    const source = await sourceFromPath(path);
    expect(source).toMatchObject({ name: 'corpus.txt', size: 80000 });
    const tokens = await tokenizeSource(source, chars);
    expect(tokens.length).toBe(80000);
    expect(chars.decode(tokens.subarray(0, 8))).toBe('abc def\n');
  });

  it('refuses a pipe and a folder, which cannot be read more than once or at all, naming the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-src-'));
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await expect(sourceFromPath(fifo)).rejects.toThrow(`${fifo} is not a regular file (a pipe or a device`);
    await expect(sourceFromPath(dir)).rejects.toThrow(`${dir} is a folder: name the files in it`);
  });
});
