// Fine-tuning data against TRL's rules, written out plainly below as a reference: every record shape (text,
// prompt-completion as strings and as conversations, multi-turn chats with system prompts), with and without
// packing (bfd, bfd_split, wrapped), truncation that cuts a turn in the middle; the rows the trainer reads (ids,
// labels, position ids) must equal the reference's. A real chat model's tokenizer and template (Qwen 3).
import { describe, expect, it } from 'vitest';
import {
  bestFitDecreasing,
  collate,
  loadSftDataset,
  previewRows,
  sourceFromText,
  type ChatMessage,
  type SftConfig,
  type StoredBlocks,
} from '../../src/core/data/index.ts';
import { loadGpt2Tokenizer } from '../../src/core/tokenizer/index.ts';
import { IGNORE_INDEX } from '../../src/core/util/targets.ts';
import type { Tokenizer } from '../../src/core/tokenizer/types.ts';
import { qwen3, tokenOffsets, type ChatModel } from './sft_fixtures.ts';

type Rec = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// The reference: TRL's SFTTrainer._prepare_dataset, pack_dataset and DataCollatorForLanguageModeling, step by step.

interface RefExample {
  input_ids: number[];
  labels: number[];
}
interface RefRow extends RefExample {
  seq_lengths?: number[];
}

/** transformers' assistant mask: tokens overlapping each assistant turn's characters (char_to_token of both ends). */
function refAssistantMask(model: ChatModel, messages: ChatMessage[], ids: number[]): number[] {
  const full = model.render(messages, false);
  const offsets = tokenOffsets(model, full);
  expect(offsets.length).toBe(ids.length);
  const mask = ids.map(() => 0);
  const charToToken = (c: number) => offsets.findIndex(([a, b]) => a <= c && c < b);
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const before = model.render(messages.slice(0, i), true);
    const through = model.render(messages.slice(0, i + 1), false);
    expect(full.startsWith(before)).toBe(true);
    // The turn runs to where the conversation through it ends, or (a template that renders the turn differently
    // once more follow) to its end-of-turn token.
    const end = full.startsWith(through) ? through.length : full.indexOf('<|im_end|>', before.length) + 10;
    const first = charToToken(before.length);
    const last = charToToken(end - 1);
    for (let t = first; t <= last; t++) mask[t] = 1;
  });
  return mask;
}

function refTokenize(rec: Rec, tok: Tokenizer, model: ChatModel | null, c: SftConfig): RefExample {
  const eos = tok.decode([tok.eosTokenId]);
  const isChat = (v: unknown) => Array.isArray(v) && typeof v[0] === 'object' && 'role' in v[0];
  const completionOnly = c.completion_only_loss ?? ('prompt' in rec && 'completion' in rec);
  let input_ids: number[];
  const masks: number[][] = [];
  if ('prompt' in rec) {
    let promptIds: number[];
    if (isChat(rec.prompt)) {
      const prompt = rec.prompt as ChatMessage[];
      const all = [...prompt, ...(rec.completion as ChatMessage[])];
      promptIds = model!.refEncode(model!.render(prompt, true));
      input_ids = model!.refEncode(model!.render(all, false));
      if (c.assistant_only_loss) masks.push(refAssistantMask(model!, all, input_ids));
    } else {
      let completion = rec.completion as string;
      if (!completion.endsWith(eos)) completion += eos;
      promptIds = tok.encode(rec.prompt as string);
      input_ids = tok.encode((rec.prompt as string) + completion);
    }
    if (completionOnly) masks.push(input_ids.map((_, i) => (i < promptIds.length ? 0 : 1)));
  } else if ('messages' in rec) {
    const messages = rec.messages as ChatMessage[];
    input_ids = model!.refEncode(model!.render(messages, false));
    if (c.assistant_only_loss) masks.push(refAssistantMask(model!, messages, input_ids));
  } else {
    let text = rec[c.dataset_text_field] as string;
    if (!text.endsWith(eos)) text += eos;
    input_ids = tok.encode(text);
  }
  const labels = input_ids.map((id, i) => (masks.every((m) => m[i] === 1) ? id : -100));
  return { input_ids, labels };
}

/** Best fit decreasing as TRL's _pack_bfd behaves, the slow and obvious way. */
function refBfd(lengths: number[], capacity: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const bins: { items: number[]; room: number; roomSince: number }[] = [];
  let clock = 0;
  for (const i of order) {
    let best: (typeof bins)[number] | null = null;
    for (const b of bins)
      if (
        b.room >= lengths[i] &&
        b.room > 0 &&
        (!best || b.room < best.room || (b.room === best.room && b.roomSince < best.roomSince))
      )
        best = b;
    if (!best) bins.push((best = { items: [], room: capacity, roomSince: 0 }));
    best.items.push(i);
    best.room -= lengths[i];
    best.roomSince = clock++;
  }
  return bins.map((b) => b.items);
}

function refPrepare(records: Rec[], tok: Tokenizer, model: ChatModel | null, c: SftConfig): RefRow[] {
  const examples = records.map((r) => refTokenize(r, tok, model, c));
  const T = c.max_length;
  if (!c.packing)
    return examples
      .map((e) => ({ input_ids: e.input_ids.slice(0, T), labels: e.labels.slice(0, T) }))
      .filter((e) => e.labels.some((l) => l !== IGNORE_INDEX));
  const rows: RefRow[] = [];
  for (let g = 0; g < examples.length; g += 1000) {
    const group = examples.slice(g, g + 1000);
    if (c.packing_strategy === 'wrapped') {
      const ids = group.flatMap((e) => e.input_ids);
      const labels = group.flatMap((e) => e.labels);
      for (let at = 0; at < ids.length; at += T)
        rows.push({ input_ids: ids.slice(at, at + T), labels: labels.slice(at, at + T) });
      continue;
    }
    let seqs = group.filter((e) => e.input_ids.length > 0);
    if (c.packing_strategy === 'bfd')
      seqs = seqs.map((e) => ({ input_ids: e.input_ids.slice(0, T), labels: e.labels.slice(0, T) }));
    else
      seqs = seqs.flatMap((e) =>
        Array.from({ length: Math.ceil(e.input_ids.length / T) }, (_, k) => ({
          input_ids: e.input_ids.slice(k * T, (k + 1) * T),
          labels: e.labels.slice(k * T, (k + 1) * T),
        })),
      );
    for (const bin of refBfd(
      seqs.map((s) => s.input_ids.length),
      T,
    ))
      rows.push({
        input_ids: bin.flatMap((i) => seqs[i].input_ids),
        labels: bin.flatMap((i) => seqs[i].labels),
        seq_lengths: bin.map((i) => seqs[i].input_ids.length),
      });
  }
  return rows;
}

/** DataCollatorForLanguageModeling on one row, right-padded to T: labels, and position ids when padding-free. */
function refCollate(row: RefRow, T: number): { labels: number[]; positionIds: number[] | null } {
  const labels = [...row.labels, ...Array(T - row.labels.length).fill(-100)];
  if (!row.seq_lengths) return { labels, positionIds: null };
  const positionIds = row.seq_lengths.flatMap((n) => Array.from({ length: n }, (_, k) => k));
  positionIds.forEach((p, t) => {
    if (p === 0) labels[t] = -100;
  });
  return { labels, positionIds };
}

// ---------------------------------------------------------------------------------------------------------------

async function expectSameRows(records: Rec[], tok: Tokenizer, model: ChatModel | null, over: Partial<SftConfig>) {
  const loaded = await loadSftDataset(
    [sourceFromText('data.jsonl', records.map((r) => JSON.stringify(r)).join('\n'))],
    {
      tokenizer: tok,
      chat: model?.chat,
      config: over,
      evalFraction: 0,
    },
  );
  const c = loaded.config;
  const ref = refPrepare(records, tok, model, c);
  const T = loaded.blockSize;
  expect(T).toBe(Math.min(c.max_length, Math.max(...ref.map((r) => r.input_ids.length))));
  const data = loaded.train as StoredBlocks;
  expect(data.numBlocks).toBe(ref.length);
  const blocks = await data.readBlocks(ref.map((_, i) => i));
  const batch = collate(blocks, T, data.padTokenId);
  ref.forEach((row, r) => {
    const what = `${JSON.stringify(over)} row ${r}`;
    expect(Array.from(blocks[r].ids), what).toEqual(row.input_ids);
    const want = refCollate(row, T);
    expect(Array.from(batch.labels.subarray(r * T, (r + 1) * T)), what).toEqual(want.labels);
    if (want.positionIds)
      expect(Array.from(batch.positionIds!.subarray(r * T, r * T + row.input_ids.length)), what).toEqual(
        want.positionIds,
      );
    // Hearth's shifted targets are the labels one to the left.
    expect(Array.from(batch.targets.subarray(r * T, (r + 1) * T)), what).toEqual([
      ...want.labels.slice(1),
      IGNORE_INDEX,
    ]);
  });
  if (!ref.some((r) => r.seq_lengths)) expect(batch.positionIds).toBeUndefined();
  return loaded;
}

const CONFIGS: Partial<SftConfig>[] = [
  { max_length: 40 },
  { max_length: 64, packing: true },
  { max_length: 40, packing: true, packing_strategy: 'bfd_split' },
  { max_length: 40, packing: true, packing_strategy: 'wrapped' },
];

const chats: ChatMessage[][] = [
  [
    { role: 'system', content: 'You answer in one word.' },
    { role: 'user', content: 'Capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: 'And of Italy?' },
    { role: 'assistant', content: 'Rome.' },
  ],
  [
    { role: 'user', content: 'Say hi' },
    { role: 'assistant', content: 'Hi! 👋 How can I help you today? Ask me anything at all, I will do my best.' },
  ],
  [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Count to five.' },
    { role: 'assistant', content: 'One, two, three, four, five.' },
    { role: 'user', content: 'Backwards?' },
    { role: 'assistant', content: 'Five, four, three, two, one.' },
    { role: 'user', content: 'In French?' },
    { role: 'assistant', content: 'Cinq, quatre, trois, deux, un.' },
  ],
];

describe('SFT examples and rows equal the TRL reference', () => {
  it('text records (dataset_text_field), eos appended unless present, long ones truncated', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const records: Rec[] = [
      { body: 'The quick brown fox jumps over the lazy dog.' },
      { body: 'Already ends with the end of text.<|endoftext|>' },
      { body: '' },
      {
        body: 'A much longer document that runs past the maximum length of forty tokens so that it is cut: '.repeat(3),
      },
      { body: 'Short.' },
    ];
    for (const c of CONFIGS) await expectSameRows(records, gpt2, null, { ...c, dataset_text_field: 'body' });
  });

  it('prompt-completion strings: completion_only_loss by default, or the whole sequence', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const records: Rec[] = [
      { prompt: 'Translate to French: cat', completion: ' chat' },
      { prompt: 'Q: 2+2?\nA:', completion: ' 4' },
      { prompt: 'A prompt so long that it fills the whole of max_length by itself, '.repeat(3), completion: ' x' },
      { prompt: 'Write a haiku.', completion: ' Old pond / a frog jumps in / sound of water' },
    ];
    for (const c of CONFIGS) {
      const loaded = await expectSameRows(records, gpt2, null, c);
      if (!c.packing) expect(loaded.files[0]).toMatchObject({ records: 4, examples: 4, dropped: 1 }); // prompt-only
      await expectSameRows(records, gpt2, null, { ...c, completion_only_loss: false });
    }
  });

  it('prompt-completion conversations: the completion after the generation prompt', async () => {
    const q = qwen3();
    const records: Rec[] = chats.map((m) => ({ prompt: m.slice(0, -1), completion: m.slice(-1) }));
    for (const c of CONFIGS) {
      await expectSameRows(records, q.tokenizer, q, { ...c, max_length: 2 * c.max_length! });
      await expectSameRows(records, q.tokenizer, q, { ...c, max_length: 2 * c.max_length!, assistant_only_loss: true });
    }
  });

  it('multi-turn chats with system prompts: assistant_only_loss marks each assistant turn; cut mid-turn', async () => {
    const q = qwen3();
    const records: Rec[] = chats.map((messages) => ({ messages }));
    for (const c of CONFIGS) {
      await expectSameRows(records, q.tokenizer, q, c); // every token counts
      const loaded = await expectSameRows(records, q.tokenizer, q, { ...c, assistant_only_loss: true });
      // Qwen 3 renders an earlier turn without the empty <think> block the last one gets: noted on the file.
      expect(loaded.messages.map((m) => m.message).join('\n')).toMatch(/did not tokenize as the start/);
    }
    // max_length 40 cuts the first chat inside its second assistant turn: the turn's start still counts.
    const loaded = await loadSftDataset([sourceFromText('c.jsonl', JSON.stringify(records[0]))], {
      tokenizer: q.tokenizer,
      chat: q.chat,
      config: { max_length: 40, assistant_only_loss: true },
      evalFraction: 0,
    });
    const [block] = await (loaded.train as StoredBlocks).readBlocks([0]);
    const full = q.refEncode(q.render(chats[0], false));
    expect(full.length).toBeGreaterThan(40);
    expect(Array.from(block.ids)).toEqual(full.slice(0, 40));
    // The first turn whole; of the second only its first token (<think>) is left, and it counts.
    expect(q.tokenizer.decode(Array.from(block.ids).filter((_, t) => block.lossMask![t]))).toBe(
      'Paris.<|im_end|><think>',
    );
    expect(block.lossMask![39]).toBe(1);
    expect(loaded.files[0]).toMatchObject({ truncated: 1, truncatedTokens: full.length - 40, dropped: 0 });
    // The preview marks the tokens whose prediction counts: the assistant's, as the model sees them.
    const [row] = await previewRows(loaded.train, 1);
    expect(row.ids).toEqual(full.slice(0, 40));
    expect(row.counts).toEqual(Array.from(block.lossMask!, (m) => m === 1));
  });

  it('packs in groups of 1,000 examples, as datasets.map(batched=True) hands them to TRL', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const words = ['alpha', 'beta gamma', 'delta epsilon zeta', 'eta', 'theta iota kappa lambda mu'];
    const records: Rec[] = Array.from({ length: 2300 }, (_, i) => ({ text: `${words[i % 5]} ${i}` }));
    for (const strategy of ['bfd', 'wrapped'] as const)
      await expectSameRows(records, gpt2, null, { max_length: 16, packing: true, packing_strategy: strategy });
  });
});

describe('SFT evaluation split', () => {
  it('holds out the last rows, or reads separate eval files with the same options', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const jsonl = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ prompt: `Q${from + i}?`, completion: ` A${from + i}` }),
      ).join('\n');
    const split = await loadSftDataset([sourceFromText('d.jsonl', jsonl(8))], { tokenizer: gpt2, evalFraction: 0.25 });
    expect([split.train.numBlocks, split.eval?.numBlocks]).toEqual([6, 2]);
    const [last] = await (split.eval as StoredBlocks).readBlocks([1]);
    expect(gpt2.decode(Array.from(last.ids))).toBe('Q7? A7<|endoftext|>');
    const apart = await loadSftDataset([sourceFromText('d.jsonl', jsonl(8))], {
      tokenizer: gpt2,
      evalSources: [sourceFromText('e.jsonl', jsonl(3, 100))],
    });
    expect([apart.train.numBlocks, apart.eval?.numBlocks]).toEqual([8, 3]);
    expect(apart.files.map((f) => f.name)).toEqual(['d.jsonl', 'e.jsonl']);
    const [first] = await (apart.eval as StoredBlocks).readBlocks([0]);
    expect(gpt2.decode(Array.from(first.ids).filter((_, t) => first.lossMask![t]))).toBe(' A100<|endoftext|>');
    await expect(
      loadSftDataset([sourceFromText('d.jsonl', jsonl(8))], { tokenizer: gpt2, evalFraction: 5 }),
    ).rejects.toThrow('eval_split_fraction must be a share from 0 up to (not including) 1, got 5');
  });
});

describe('bestFitDecreasing', () => {
  it('matches the plain best-fit-decreasing on random lengths', () => {
    for (let seed = 1; seed <= 50; seed++) {
      let s = seed;
      const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const cap = 2 + Math.floor(rand() * 60);
      const lengths = Array.from({ length: Math.floor(rand() * 300) }, () => 1 + Math.floor(rand() * cap));
      expect(bestFitDecreasing(lengths, cap), `seed ${seed}`).toEqual(refBfd(lengths, cap));
    }
  });
});
