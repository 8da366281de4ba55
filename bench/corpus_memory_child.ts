// One measurement of the corpus-memory section (corpus_memory.ts), alone in its process so that its peak memory
// is its own: load a text file into blocks through a token cache folder (or with no cache: in memory, as before),
// draw training batches as the trainer does (read ahead, then handed out), run one pass of evaluation batches,
// then print the process's peak resident memory as JSON.
import { BatchSampler, evalBatches, loadTextDataset } from '../src/core/data/index.ts';
import { folderTokenCache, sourceFromPath } from '../src/core/data/node.ts';
import { loadGpt2Tokenizer } from '../src/core/tokenizer/index.ts';

const [path, cacheDir] = process.argv.slice(2);
const BATCH = 8;
const BLOCK = 1024;
const t0 = performance.now();
const data = await loadTextDataset([await sourceFromPath(path)], {
  tokenizer: await loadGpt2Tokenizer(),
  blockSize: BLOCK,
  evalFraction: 0.001,
  cache: cacheDir === 'memory' ? undefined : folderTokenCache(cacheDir),
});
const loaded = performance.now();
const sampler = new BatchSampler(data.train, BATCH, { seed: 1 });
let checksum = 0;
for (let step = 0; step < 500; step++) {
  await sampler.prefetch(1);
  checksum += sampler.next().inputs[0];
}
let evalBlocks = 0;
for await (const batch of evalBatches(data.eval!, BATCH)) evalBlocks += batch.batchSize;
console.log(
  JSON.stringify({
    peakMiB: process.resourceUsage().maxRSS / 1024,
    tokens: (data.train.numBlocks + evalBlocks) * BLOCK,
    loadSeconds: (loaded - t0) / 1000,
    batchSeconds: (performance.now() - loaded) / 1000,
    checksum,
  }),
);
