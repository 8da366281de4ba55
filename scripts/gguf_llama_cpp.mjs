// Runs a Hearth checkpoint's GGUF export (any architecture it writes: gpt2, llama, qwen2) in llama.cpp itself and
// compares its greedy continuation of a prompt with `hearth generate --greedy`. llama.cpp comes from node-llama-cpp's
// prebuilt CPU binary, which is not one of Hearth's dependencies (its optional CUDA and Vulkan builds add about
// 680 MB to node_modules): install it elsewhere first,
//   npm i --prefix /tmp/llama -E node-llama-cpp@3.21.1
// then
//   node scripts/gguf_llama_cpp.mjs --llama /tmp/llama --model run1/final --prompt "the cat" \
//     [--tokens 16] [--dtype f32]
// It exits 1 when the continuations differ (expected only for f16 and q8_0, whose weights are rounded).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    llama: { type: 'string' },
    model: { type: 'string' },
    prompt: { type: 'string' },
    tokens: { type: 'string', default: '16' },
    dtype: { type: 'string', default: 'f32' },
  },
});
if (!values.llama || !values.model || values.prompt === undefined) {
  console.error(
    'usage: node scripts/gguf_llama_cpp.mjs --llama DIR --model CHECKPOINT --prompt TEXT [--tokens N] [--dtype f32|f16|q8_0]',
  );
  process.exit(2);
}
const tokens = Number(values.tokens);
const hearthBin = new URL('../bin/hearth.js', import.meta.url).pathname;
const hearth = (...args) => {
  const r = spawnSync('node', [hearthBin, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hearth ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
};

const dir = mkdtempSync(join(tmpdir(), 'hearth-gguf-'));
try {
  const file = join(dir, 'model.gguf');
  hearth('export', '--model', values.model, '--dtype', values.dtype, '--out', file);
  // generate prints the prompt, the continuation as it streams, then a newline
  const hearthText = hearth(
    'generate',
    '--model',
    values.model,
    '--prompt',
    values.prompt,
    '--greedy',
    '--max-new-tokens',
    String(tokens),
  ).slice(values.prompt.length, -1);

  const entry = createRequire(join(values.llama, 'package.json')).resolve('node-llama-cpp');
  const { getLlama, LlamaLogLevel } = await import(pathToFileURL(entry).href);
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: 256 });
  const ids = [];
  // Hearth's tokenizer wraps the prompt as its post-processor says (BOS for Llama 2, say); the file's
  // tokenizer.ggml.add_bos_token says the same, which node-llama-cpp reports but tokenize() does not apply.
  const prompt = model.tokenize(values.prompt);
  if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) prompt.unshift(model.tokens.bos);
  for await (const id of context.getSequence().evaluate(prompt, { temperature: 0 })) {
    ids.push(id);
    if (ids.length >= tokens) break;
  }
  const llamaText = model.detokenize(ids);
  await model.dispose();
  await llama.dispose();

  console.log(`hearth:    ${JSON.stringify(hearthText)}`);
  console.log(`llama.cpp: ${JSON.stringify(llamaText)} (ids ${ids.join(' ')})`);
  console.log(hearthText === llamaText ? 'same continuation' : 'the continuations differ');
  process.exitCode = hearthText === llamaText ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
