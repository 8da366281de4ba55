// For the GGUF tests: a file written to disk and parsed by @huggingface/gguf, its tensors decoded to float64 by a
// reader of our own (independent of the writer), and GPT-2's tensors as llama.cpp names and lays them out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf, type GGUFParseOutput } from '@huggingface/gguf';
import type { GgufFile } from '../../src/core/checkpoint/gguf.ts';
import { halfToFloat } from '../../src/core/checkpoint/float16.ts';
import type { GPT2Config } from '../../src/core/model/families/gpt2_config.ts';
import { referenceLossAndGrads, type RefParams } from '../../src/core/model/reference/gpt2.ts';

export function fileBytes(file: GgufFile): Uint8Array {
  const out = new Uint8Array(file.size);
  let at = 0;
  for (const part of file.parts()) {
    out.set(part, at);
    at += part.length;
  }
  if (at !== file.size) throw new Error(`the parts hold ${at} bytes, the file says ${file.size}`);
  return out;
}

/** Parses the file with @huggingface/gguf (from disk, as it reads local files). */
export async function parseWithHf(bytes: Uint8Array): Promise<GGUFParseOutput & { typedMetadata: unknown }> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-gguf-'));
  try {
    const path = join(dir, 'model.gguf');
    writeFileSync(path, bytes);
    return await gguf(path, { allowLocalFile: true, typedMetadata: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ggml type ids (ggml.h), spelled out here rather than taken from the writer. */
export const TYPE_ID = { F32: 0, F16: 1, Q8_0: 8 };

/** A tensor's values in float64, decoded from its ggml type at `offset` bytes into the file. */
export function decodeTensor(bytes: Uint8Array, offset: number, type: number, count: number): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  const out = new Float64Array(count);
  if (type === TYPE_ID.F32) for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (type === TYPE_ID.F16) for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else if (type === TYPE_ID.Q8_0) {
    for (let b = 0; b < count / 32; b++) {
      const d = halfToFloat(view.getUint16(34 * b, true));
      for (let j = 0; j < 32; j++) out[32 * b + j] = d * view.getInt8(34 * b + 2 + j);
    }
  } else throw new Error(`ggml type ${type} not read here`);
  return out;
}

/**
 * GPT-2's tensors as llama.cpp's converter names them (gguf-py's tensor map) from Hugging Face's names, and
 * whether ggml holds them transposed (Conv1D keeps (in, out); ggml rows are outputs).
 */
export function llamaCppGpt2Names(nLayer: number): [gguf: string, hf: string, transposed: boolean][] {
  const out: [string, string, boolean][] = [
    ['token_embd.weight', 'wte.weight', false],
    ['output.weight', 'wte.weight', false],
    ['position_embd.weight', 'wpe.weight', false],
    ['output_norm.weight', 'ln_f.weight', false],
    ['output_norm.bias', 'ln_f.bias', false],
  ];
  for (let l = 0; l < nLayer; l++) {
    const b = `blk.${l}.`;
    const h = `h.${l}.`;
    out.push(
      [`${b}attn_norm.weight`, `${h}ln_1.weight`, false],
      [`${b}attn_norm.bias`, `${h}ln_1.bias`, false],
      [`${b}attn_qkv.weight`, `${h}attn.c_attn.weight`, true],
      [`${b}attn_qkv.bias`, `${h}attn.c_attn.bias`, false],
      [`${b}attn_output.weight`, `${h}attn.c_proj.weight`, true],
      [`${b}attn_output.bias`, `${h}attn.c_proj.bias`, false],
      [`${b}ffn_norm.weight`, `${h}ln_2.weight`, false],
      [`${b}ffn_norm.bias`, `${h}ln_2.bias`, false],
      [`${b}ffn_up.weight`, `${h}mlp.c_fc.weight`, true],
      [`${b}ffn_up.bias`, `${h}mlp.c_fc.bias`, false],
      [`${b}ffn_down.weight`, `${h}mlp.c_proj.weight`, true],
      [`${b}ffn_down.bias`, `${h}mlp.c_proj.bias`, false],
    );
  }
  return out;
}

/** (rows, cols) row-major to (cols, rows). */
export function transpose64(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** Weights read back from the file by llama.cpp's names, in float64, under Hugging Face's names and layouts. */
export async function readBack(bytes: Uint8Array, c: GPT2Config): Promise<RefParams> {
  const parsed = await parseWithHf(bytes);
  const infos = new Map(parsed.tensorInfos.map((t) => [t.name, t]));
  const params: RefParams = new Map();
  for (const [name, hf, transposed] of llamaCppGpt2Names(c.n_layer)) {
    const info = infos.get(name)!;
    const ne = info.shape.map(Number);
    const count = ne.reduce((a, b) => a * b, 1);
    const values = decodeTensor(bytes, Number(parsed.tensorDataOffset + info.offset), info.dtype, count);
    // ggml's ne[0] is the row length: (ne1, ne0) row-major; a transposed Conv1D goes back to (in, out).
    params.set(hf, transposed ? transpose64(values, ne[1], ne[0]) : values);
  }
  return params;
}

/** The reference model's greedy continuation, with each step's logits and margin (best minus runner-up). */
export function greedy(
  c: GPT2Config,
  params: RefParams,
  prompt: number[],
  steps: number,
): { ids: number[]; logits: number[]; margins: number[] } {
  const ids = [...prompt];
  const logits: number[] = [];
  const margins: number[] = [];
  for (let s = 0; s < steps; s++) {
    const T = ids.length;
    const r = referenceLossAndGrads(c, params, Int32Array.from(ids), new Int32Array(T).fill(-100), 1, T);
    const row = r.logits.subarray((T - 1) * c.vocab_size, T * c.vocab_size);
    let best = 0;
    for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
    logits.push(...row);
    margins.push(row[best] - Math.max(...row.filter((_, v) => v !== best)));
    ids.push(best);
  }
  return { ids: ids.slice(prompt.length), logits, margins };
}
