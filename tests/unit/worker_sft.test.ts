// The worker's preparation of a dropped record file: the counts the page lists, the first rows with the tokens that
// count for the loss, refusals with their reasons, and the options under TRL's names; and a run on records kept so
// that it resumes after a reload without its files.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { BatchSampler } from '../../src/core/data/batches.ts';
import { readBlocks, type BlockDataset } from '../../src/core/data/blocks.ts';
import { indexedDbTokenCache, memoryTokenCache } from '../../src/core/data/cache.ts';
import { sourceFromBlob } from '../../src/core/data/index.ts';
import { charTokenizerFrom, loadGpt2Tokenizer } from '../../src/core/tokenizer/index.ts';
import { EngineError, type CountEvent, type SftOptions } from '../../src/worker/protocol.ts';
import { RunDataStore } from '../../src/worker/run_data.ts';
import { loadSft, prepareSftFile, sftConfigOf, sftTokenizer } from '../../src/worker/sft.ts';

const OPTIONS: SftOptions = {
  dataset_text_field: 'text',
  max_length: null,
  packing: false,
  assistant_only_loss: false,
  completion_only_loss: null,
};

const file = (name: string, text: string) => new File([text], name);

describe('record files in the worker', () => {
  it('counts a file, cuts to max_length, and shows its first rows with the completion marked', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const lines = [
      { prompt: 'Q: one?', completion: ' A: 1' },
      { prompt: 'Q: two?', completion: ' A: 2' },
      { prompt: 'Q: a long one'.repeat(10), completion: ' A: long' },
      { prompt: 7, completion: 'x' },
    ].map((r) => JSON.stringify(r));
    const events: CountEvent[] = [];
    const report = await prepareSftFile(
      file('pairs.jsonl', lines.join('\n')),
      { tokenizer, config: sftConfigOf({ ...OPTIONS, max_length: 12 }, 64), cache: memoryTokenCache() },
      (e) => events.push(e),
    );
    // the long one is cut to 12 tokens, all of them prompt, so it is left out; rows are then as long as the longest
    expect(report).toMatchObject({ records: 4, examples: 3, truncated: 1, dropped: 1 });
    expect(report.rowLength).toBe(Math.max(...report.preview.map((r) => r.tokens)));
    expect(report.preview).toHaveLength(2);
    expect(report.messages.join(' ')).toMatch(/skipped line 4/);
    const first = report.preview[0];
    expect(first.pieces).toEqual([
      { text: 'Q: one?', counts: false },
      { text: ' A: 1<|endoftext|>', counts: true },
    ]);
    expect(first.counted).toBe(tokenizer.encode(' A: 1<|endoftext|>').length);
  });

  it('refuses a file that gives nothing, with the reasons', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const load = { tokenizer, config: sftConfigOf(OPTIONS, 64), cache: memoryTokenCache() };
    const refused = prepareSftFile(file('rows.csv', 'title,body\nx,y\n'), load, () => {});
    await expect(refused).rejects.toThrow(EngineError);
    await expect(refused).rejects.toThrow(/has no column 'text'.*its columns: title, body/);
    // the column picked by dataset_text_field
    const picked = await prepareSftFile(
      file('rows.csv', 'title,body\nx,hello there\n'),
      { ...load, config: sftConfigOf({ ...OPTIONS, dataset_text_field: 'body' }, 64) },
      () => {},
    );
    expect(picked.examples).toBe(1);
    expect(picked.preview[0].pieces).toEqual([{ text: 'hello there<|endoftext|>', counts: true }]);
  });

  it("takes max_length up to the model's positions, and templates a new model's tokenizer", async () => {
    expect(sftConfigOf(OPTIONS, 64)).toMatchObject({ max_length: 64, packing_strategy: 'bfd' });
    expect(sftConfigOf(OPTIONS, 4096).max_length).toBe(1024);
    expect(() => sftConfigOf({ ...OPTIONS, max_length: 65 }, 64)).toThrow(/from 2 to the model's 64 positions/);
    const gpt2 = await loadGpt2Tokenizer();
    expect(sftTokenizer(gpt2, false)).toBe(gpt2);
    expect(sftTokenizer(gpt2, true)).not.toBe(gpt2);
    expect(sftTokenizer(gpt2, true)).toBe(sftTokenizer(gpt2, true));
    const chars = charTokenizerFrom('abc');
    expect(sftTokenizer(chars, true)).toBe(chars);
  });

  it('keeps a run on records as its cache entries, and reopens the same rows after a reload', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const db = `hearth-sft-resume-${Math.random()}`;
    const pairs = Array.from({ length: 9 }, (_, i) =>
      JSON.stringify({ prompt: `Q: ${i} plus ${i}?`, completion: ` A: ${2 * i}` }),
    ).join('\n');
    const texts = Array.from({ length: 5 }, (_, i) => JSON.stringify({ text: `line ${i} `.repeat(i + 1) })).join('\n');
    const all = (d: BlockDataset) =>
      readBlocks(
        d,
        Array.from({ length: d.numBlocks }, (_, i) => i),
      );
    for (const packing of [false, true]) {
      const run = `records, packing ${packing}`;
      const loaded = await loadSft(
        [sourceFromBlob(file('pairs.jsonl', pairs)), sourceFromBlob(file('texts.jsonl', texts))],
        { tokenizer, config: sftConfigOf({ ...OPTIONS, packing, max_length: 16 }, 64), cache: indexedDbTokenCache(db) },
        { evalFraction: 0.25 },
      );
      await new RunDataStore(indexedDbTokenCache(db)).put(run, loaded);
      // A reload: fresh objects over the same databases, no files, and the page's block_size left as it was.
      const again = (await new RunDataStore(indexedDbTokenCache(db)).get(run, 1024))!;
      expect(again.fineTuning).toBe(true);
      expect(again.train.blockSize).toBe(loaded.blockSize);
      for (const [before, after] of [
        [loaded.train, again.train],
        [loaded.eval!, again.eval!],
      ]) {
        expect(after.numBlocks).toBe(before.numBlocks);
        expect(await all(after)).toEqual(await all(before));
      }
      // The batch a saved position points at, with its loss masks.
      const position = { seed: 5, epoch: 1, index: 3 };
      const [a, b] = [new BatchSampler(loaded.train, 2, position), new BatchSampler(again.train, 2, position)];
      await Promise.all([a.prefetch(1), b.prefetch(1)]);
      expect(b.next()).toEqual(a.next());
      // A cache that lost the entries gives nothing to resume on (the page then asks for the files).
      expect(await new RunDataStore(memoryTokenCache()).get(run, 1024)).toBeNull();
    }
  });
});
