// Tokenizer benchmark: GPT-2 encoding throughput against gpt-tokenizer (another JS GPT-2 BPE) on
// the same text, with a check that both give the same ids, and BPE training time on 10 MB.
// Run alone: npm run bench -- tokenizer
import { encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { loadGpt2Tokenizer } from '../src/core/tokenizer/gpt2.ts';
import { trainBpe } from '../src/core/tokenizer/train_bpe.ts';
import { makeCorpus } from './corpus.ts';
import type { Report } from './report.ts';

export async function benchTokenizer(report: Report): Promise<void> {
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
