// `npm run bench [-- section...]`: speed of Hearth's kernels, model step, tokenizer and generation, each against
// a baseline measured in the same run on the same device.
// Sections: matmul, attention, train, generate, tokenizer, memory, fp16, corpus.
import { benchMatmul } from './matmul.ts';
import { benchAttention } from './attention.ts';
import { benchTrainStep } from './train.ts';
import { benchGenerate } from './generate.ts';
import { benchTokenizer } from './tokenizer.ts';
import { benchProfile } from './profile.ts';
import { benchMemory } from './memory.ts';
import { benchMixedPrecision } from './mixed_precision.ts';
import { benchCorpus } from './corpus.ts';
import { closeGpu } from '../src/core/gpu/device.ts';

const sections: Record<string, (report: (line: string) => void) => Promise<void>> = {
  matmul: benchMatmul,
  attention: benchAttention,
  train: benchTrainStep,
  generate: benchGenerate,
  tokenizer: benchTokenizer,
  memory: benchMemory,
  fp16: benchMixedPrecision,
  corpus: benchCorpus,
};

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
// `--profile` runs the per-kernel profile of one train step (alone, or after the sections named).
const asked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const profile = flags.includes('--profile');
const unknown = asked.filter((a) => !(a in sections));
if (unknown.length) {
  console.error(`unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`);
  process.exit(2);
}
let code = 0;
try {
  for (const name of asked.length || profile ? asked : Object.keys(sections)) {
    console.log(`\n== ${name} ==`);
    await sections[name]((line) => console.log(line));
  }
  if (profile) {
    console.log('\n== profile ==');
    await benchProfile((line) => console.log(line));
  }
} catch (e) {
  console.error(e);
  code = 1;
}
await closeGpu();
process.exit(code);
