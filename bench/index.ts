// `npm run bench [-- section...]`: speed of Hearth's kernels, model step, tokenizer and generation, each against
// a baseline measured in the same run on the same device.
// Sections: matmul, attention, llama (RMSNorm, RoPE, SwiGLU), train, lora (a LoRA step against a full one), generate,
// tokenizer, memory, fp16 (all of them when none is named); adapter (what the device is, its features and limits) and
// corpus-memory (peak memory training on 100 MB and 1 GB of text: minutes of tokenizing) only when named.
// Flags: --profile (the per-kernel profile of one train step, alone or after the sections named), --peak-tflops=N,
// --quick (matmul at one small shape: a check that a setup runs, not a figure), and --json FILE (every line and its
// figures also as JSON, rewritten after each line; the device kit reads it).
import { benchAdapter } from './adapter.ts';
import { benchMatmul } from './matmul.ts';
import { benchAttention } from './attention.ts';
import { benchLlamaKernels } from './llama_kernels.ts';
import { benchTrainStep } from './train.ts';
import { benchLora } from './lora.ts';
import { benchGenerate } from './generate.ts';
import { benchTokenizer } from './tokenizer.ts';
import { benchProfile } from './profile.ts';
import { benchMemory } from './memory.ts';
import { benchMixedPrecision } from './mixed_precision.ts';
import { benchCorpusMemory } from './corpus_memory.ts';
import { ResultsFile, type Section } from './report.ts';
import { closeGpu } from '../src/core/gpu/device.ts';

const sections: Record<string, Section> = {
  matmul: benchMatmul,
  attention: benchAttention,
  llama: benchLlamaKernels,
  train: benchTrainStep,
  lora: benchLora,
  generate: benchGenerate,
  tokenizer: benchTokenizer,
  memory: benchMemory,
  fp16: benchMixedPrecision,
};
const namedOnly: Record<string, Section> = { adapter: benchAdapter, 'corpus-memory': benchCorpusMemory };

const argv = process.argv.slice(2);
let jsonPath: string | undefined;
const words: string[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--json') jsonPath = argv[++i] ?? '';
  else if (argv[i].startsWith('--json=')) jsonPath = argv[i].slice('--json='.length);
  else words.push(argv[i]);
}
if (jsonPath === '') {
  console.error('--json needs a file name: --json FILE');
  process.exit(2);
}
const flags = words.filter((a) => a.startsWith('--'));
const asked = words.filter((a) => !a.startsWith('--'));
const profile = flags.includes('--profile');
const options = { quick: flags.includes('--quick') };
const known = { ...namedOnly, ...sections };
const unknown = asked.filter((a) => !(a in known));
if (unknown.length) {
  console.error(`unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(known).join(', ')}`);
  process.exit(2);
}
const run: [string, Section][] = (asked.length || profile ? asked : Object.keys(sections)).map((n) => [n, known[n]]);
if (profile) run.push(['profile', benchProfile]);

const results = jsonPath ? new ResultsFile(jsonPath, argv) : null;
let code = 0;
try {
  for (const [name, section] of run) {
    console.log(`\n== ${name} ==`);
    results?.begin(name);
    await section((line, record) => {
      console.log(line);
      results?.add(line, record);
    }, options);
    results?.end('ok');
  }
} catch (e) {
  console.error(e);
  results?.end('failed', e);
  code = 1;
}
await closeGpu();
process.exit(code);
