// Memory while training on a corpus: the peak resident memory of a process that tokenizes generated text (corpus.ts)
// into the token cache, draws 500 training batches (8 × 1024) from it and evaluates, for 100 MB and 1 GB of text
// (HEARTH_BENCH_CORPUS_MB="100,1000" by default). Reading blocks from the cache keeps the peak flat in the
// corpus's size: the ratio of the two peaks is the figure (the target is at most 1.2). The same 100 MB loaded
// without a cache (all tokens in memory, as Hearth kept them before) is measured beside it.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCorpus } from './corpus.ts';
import type { Report } from './report.ts';

const MB = 1e6;

/** About `bytes` bytes of the bench's generated text (mostly English, a fifth Chinese), a megabyte at a time. */
async function writeCorpus(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let written = 0, seed = 1; written < bytes; seed++) {
    const chunk = makeCorpus(1 << 20, 0.2, seed);
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface Measured {
  peakMiB: number;
  tokens: number;
  loadSeconds: number;
  batchSeconds: number;
}

function measure(path: string, cacheDir: string): Measured {
  const r = spawnSync(
    process.execPath,
    ['--import', './scripts/node_register.mjs', 'bench/corpus_memory_child.ts', path, cacheDir],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new Error(`corpus measurement failed: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Measured;
}

export async function benchCorpusMemory(report: Report): Promise<void> {
  const sizes = (process.env.HEARTH_BENCH_CORPUS_MB ?? '100,1000').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-corpus-'));
  report('peak process memory: GPT-2 tokens into the token cache, 500 batches of 8 × 1024 read from it, evaluation');
  try {
    const peaks: number[] = [];
    for (const mb of sizes) {
      const path = join(dir, `corpus-${mb}.txt`);
      if (!existsSync(path)) await writeCorpus(path, mb * MB);
      const m = measure(path, join(dir, `cache-${mb}`));
      peaks.push(m.peakMiB);
      report(
        `  ${(statSync(path).size / MB).toFixed(0)} MB of text, ${(m.tokens / 1e6).toFixed(1)} M tokens: ` +
          `peak ${m.peakMiB.toFixed(0)} MiB (tokenized in ${m.loadSeconds.toFixed(0)} s, batches ${m.batchSeconds.toFixed(1)} s)`,
      );
      if (mb === sizes[0]) {
        const resident = measure(path, 'memory');
        report(`  the same without a cache (every token in memory): peak ${resident.peakMiB.toFixed(0)} MiB`);
      }
    }
    if (peaks.length >= 2)
      report(
        `  peak at ${sizes.at(-1)} MB / peak at ${sizes[0]} MB: ${(peaks.at(-1)! / peaks[0]).toFixed(2)} (target at most 1.2)`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
