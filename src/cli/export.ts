// `hearth export`: a checkpoint as one GGUF file (llama.cpp, Ollama, wllama), written tensor by tensor under a
// temporary name and renamed when whole, so a cut run never leaves a file that looks finished.
import { open, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkpointToGguf, GGUF_DTYPES, type GgufDtype } from '../core/checkpoint/gguf_export.ts';
import type { GgufFile } from '../core/checkpoint/gguf.ts';
import { parseArgs, one, UsageError } from './args.ts';
import { loadCheckpoint } from './checkpoint_source.ts';

const HELP = `usage: hearth export --model DIR|ZIP|hf:ID --out FILE.gguf [--format gguf] [--dtype f32|f16|q8_0] [--name NAME]

Writes the model as one GGUF file that llama.cpp, Ollama and wllama run (llama.cpp's gpt2 architecture, the
tokenizer included). --dtype: f32 (default; the weights exactly), f16, or q8_0 (8-bit blocks, about a quarter of
f32); norms, biases and position embeddings stay f32, as llama.cpp's converter keeps them.`;

export async function exportCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<void> {
  const p = parseArgs(argv, { model: {}, out: {}, format: {}, dtype: {}, name: {}, help: { boolean: true } }, false);
  if (p.switches.has('help')) {
    out(HELP);
    return;
  }
  const modelSpec = one(p, 'model');
  const path = one(p, 'out');
  if (!modelSpec) throw new UsageError('--model is required (see hearth export --help)');
  if (!path) throw new UsageError('--out FILE.gguf is required');
  const format = one(p, 'format') ?? 'gguf';
  if (format !== 'gguf') throw new UsageError(`--format takes gguf, got '${format}'`);
  const dtype = (one(p, 'dtype') ?? 'f32').toUpperCase() as GgufDtype;
  if (!GGUF_DTYPES.includes(dtype))
    throw new UsageError(
      `--dtype takes ${GGUF_DTYPES.map((d) => d.toLowerCase()).join(', ')}, got '${one(p, 'dtype')}'`,
    );
  const ckpt = await loadCheckpoint(modelSpec);
  const file = checkpointToGguf(ckpt, { dtype, name: one(p, 'name') ?? basename(modelSpec.replace(/[\\/]+$/, '')) });
  await writeFileAtomically(path, file);
  const size =
    file.size < 2 ** 20 ? `${(file.size / 2 ** 10).toFixed(1)} KiB` : `${(file.size / 2 ** 20).toFixed(1)} MiB`;
  out(`wrote ${path} (${size}, ${dtype})`);
  err(`run it with llama.cpp: llama-cli -m ${path} -p "…"`);
}

async function writeFileAtomically(path: string, file: GgufFile): Promise<void> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  try {
    for (const part of file.parts()) {
      for (let at = 0; at < part.length;) at += (await handle.write(part, at, part.length - at)).bytesWritten;
    }
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(partial, { force: true });
    throw e;
  }
  await handle.close();
  await rename(partial, path);
}
