// `hearth export --format gguf`: a checkpoint as one GGUF file (llama.cpp, Ollama, wllama), written tensor by tensor
// under a temporary name and renamed when whole, so a cut run never leaves a file that looks finished.
import { open, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkpointToGguf, GGUF_DTYPES, type GgufDtype } from '../core/checkpoint/gguf_export.ts';
import type { GgufFile } from '../core/checkpoint/gguf.ts';
import { UsageError } from './args.ts';
import { loadCheckpoint } from './checkpoint_source.ts';

export async function exportGguf(
  modelSpec: string,
  path: string,
  options: { dtype?: string; name?: string },
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<void> {
  const dtype = (options.dtype ?? 'f32').toUpperCase() as GgufDtype;
  if (!GGUF_DTYPES.includes(dtype))
    throw new UsageError(
      `--dtype for GGUF takes ${GGUF_DTYPES.map((d) => d.toLowerCase()).join(', ')}, got '${options.dtype}'`,
    );
  const ckpt = await loadCheckpoint(modelSpec);
  const file = checkpointToGguf(ckpt, { dtype, name: options.name ?? basename(modelSpec.replace(/[\\/]+$/, '')) });
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
