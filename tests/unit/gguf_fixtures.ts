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

/** Every tensor of a GGUF file in float64 by its GGUF name, rows as ggml holds them, with the parsed metadata. */
export async function ggufTensors(
  bytes: Uint8Array,
): Promise<{ metadata: Record<string, unknown>; tensors: Map<string, Float64Array>; dims: Map<string, number[]> }> {
  const parsed = await parseWithHf(bytes);
  const tensors = new Map<string, Float64Array>();
  const dims = new Map<string, number[]>();
  for (const info of parsed.tensorInfos) {
    const ne = info.shape.map(Number);
    const count = ne.reduce((a, b) => a * b, 1);
    tensors.set(info.name, decodeTensor(bytes, Number(parsed.tensorDataOffset + info.offset), info.dtype, count));
    dims.set(info.name, ne);
  }
  return { metadata: parsed.metadata as Record<string, unknown>, tensors, dims };
}

/**
 * A forward pass as llama.cpp runs its "llama" and "qwen2" architectures, in float64, from nothing but the GGUF
 * file's metadata and tensors: rotary embedding on adjacent pairs for llama (rope mode 0, which the q/k permutation
 * serves) and on the two halves of a head for qwen2 (NeoX mode), each angle divided by rope_freqs when present and
 * scaled by rope.scaling.factor; grouped-query causal attention; SwiGLU; the head from output.weight, else
 * token_embd. Returns the greedy continuation and each step's logits.
 */
export function llamaCppGreedy(
  metadata: Record<string, unknown>,
  t: Map<string, Float64Array>,
  prompt: number[],
  steps: number,
): { ids: number[]; logits: number[]; margins: number[] } {
  const arch = metadata['general.architecture'] as string;
  const key = (k: string) => metadata[`${arch}.${k}`] as number | undefined;
  const C = key('embedding_length')!;
  const L = key('block_count')!;
  const H = key('attention.head_count')!;
  const KV = key('attention.head_count_kv') ?? H;
  const D = key('attention.key_length') ?? C / H;
  const nRot = key('rope.dimension_count') ?? D;
  const I = key('feed_forward_length')!;
  const eps = key('attention.layer_norm_rms_epsilon')!;
  const base = key('rope.freq_base') ?? 10000;
  const freqScale = metadata[`${arch}.rope.scaling.type`] === 'linear' ? 1 / key('rope.scaling.factor')! : 1;
  const factors = t.get('rope_freqs.weight');
  const neox = arch === 'qwen2';
  const embd = t.get('token_embd.weight')!;
  const head = t.get('output.weight') ?? embd;
  const V = embd.length / C;
  const w = (name: string) => {
    const x = t.get(name);
    if (!x) throw new Error(`no tensor ${name}`);
    return x;
  };
  /** y = W x (+ b) with W (rows, cols) row-major, as ggml's (cols, rows) */
  const matvec = (W: Float64Array, x: Float64Array, rows: number, bias?: Float64Array) => {
    const cols = x.length;
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = bias ? bias[r] : 0;
      for (let k = 0; k < cols; k++) s += W[r * cols + k] * x[k];
      y[r] = s;
    }
    return y;
  };
  const rms = (x: Float64Array, g: Float64Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const s = 1 / Math.sqrt(ss / x.length + eps);
    return x.map((v, i) => v * s * g[i]);
  };
  const rope = (x: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < nRot / 2; i++) {
        const theta = (pos * freqScale * Math.pow(base, (-2 * i) / nRot)) / (factors ? factors[i] : 1);
        const [a, b] = neox ? [h * D + i, h * D + i + nRot / 2] : [h * D + 2 * i, h * D + 2 * i + 1];
        const [x0, x1] = [x[a], x[b]];
        x[a] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
        x[b] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
      }
  };
  const ids = [...prompt];
  const logits: number[] = [];
  const margins: number[] = [];
  for (let step = 0; step < steps; step++) {
    const T = ids.length;
    let xs = ids.map((id) => embd.slice(id * C, (id + 1) * C));
    for (let l = 0; l < L; l++) {
      const b = `blk.${l}.`;
      const q: Float64Array[] = [];
      const k: Float64Array[] = [];
      const v: Float64Array[] = [];
      xs.forEach((x, pos) => {
        const n = rms(x, w(`${b}attn_norm.weight`));
        q.push(matvec(w(`${b}attn_q.weight`), n, H * D, t.get(`${b}attn_q.bias`)));
        k.push(matvec(w(`${b}attn_k.weight`), n, KV * D, t.get(`${b}attn_k.bias`)));
        v.push(matvec(w(`${b}attn_v.weight`), n, KV * D, t.get(`${b}attn_v.bias`)));
        rope(q[pos], H, pos);
        rope(k[pos], KV, pos);
      });
      xs = xs.map((x, pos) => {
        const att = new Float64Array(H * D);
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / KV));
          const scores: number[] = [];
          for (let s = 0; s <= pos; s++) {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[pos][h * D + d] * k[s][g * D + d];
            scores.push(dot / Math.sqrt(D));
          }
          const top = Math.max(...scores);
          const e = scores.map((z) => Math.exp(z - top));
          const sum = e.reduce((a, c) => a + c, 0);
          for (let s = 0; s <= pos; s++) for (let d = 0; d < D; d++) att[h * D + d] += (e[s] / sum) * v[s][g * D + d];
        }
        const o = matvec(w(`${b}attn_output.weight`), att, C, t.get(`${b}attn_output.bias`));
        const h1 = x.map((xi, i) => xi + o[i]);
        const n = rms(h1, w(`${b}ffn_norm.weight`));
        const gate = matvec(w(`${b}ffn_gate.weight`), n, I, t.get(`${b}ffn_gate.bias`));
        const up = matvec(w(`${b}ffn_up.weight`), n, I, t.get(`${b}ffn_up.bias`));
        const act = gate.map((z, i) => (z / (1 + Math.exp(-z))) * up[i]);
        const down = matvec(w(`${b}ffn_down.weight`), act, C, t.get(`${b}ffn_down.bias`));
        return h1.map((z, i) => z + down[i]);
      });
    }
    const row = matvec(head, rms(xs[T - 1], w('output_norm.weight')), V);
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    logits.push(...row);
    margins.push(row[best] - Math.max(...row.filter((_, i) => i !== best)));
    ids.push(best);
  }
  return { ids: ids.slice(prompt.length), logits, margins };
}

/**
 * llama.cpp's SentencePiece tokenizer (llm_tokenizer_spm) on GGUF vocabulary metadata, for text without special
 * tokens: spaces as "▁" (one prefixed when add_space_prefix), UTF-8 characters as symbols, then repeatedly the
 * adjacent pair whose joined text is a token with the highest score (leftmost on ties) joined; each final symbol is
 * its token, else split back into the two it was joined from, else its bytes as <0xXX> tokens.
 */
export function llamaCppSpmEncode(
  tokens: readonly string[],
  scores: readonly number[],
  text: string,
  addSpacePrefix: boolean,
) {
  if (text === '') return []; // llama.cpp tokenizes no fragment, so adds no space
  const idOf = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (!idOf.has(t)) idOf.set(t, id);
  });
  const s = ((addSpacePrefix ? ' ' : '') + text).replaceAll(' ', '▁');
  const symbols = [...s].map((text, i, all) => ({
    text,
    prev: i - 1,
    next: i + 1 < all.length ? i + 1 : -1,
    alive: true,
  }));
  const joinedFrom = new Map<string, [string, string]>();
  type Bigram = { left: number; right: number; text: string; score: number };
  const queue: Bigram[] = [];
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const joined = symbols[left].text + symbols[right].text;
    const id = idOf.get(joined);
    if (id === undefined) return;
    queue.push({ left, right, text: joined, score: scores[id] });
    joinedFrom.set(joined, [symbols[left].text, symbols[right].text]);
  };
  for (let i = 1; i < symbols.length; i++) tryAdd(i - 1, i);
  while (queue.length) {
    let best = 0;
    for (let i = 1; i < queue.length; i++) {
      const [a, b] = [queue[i], queue[best]];
      if (a.score > b.score || (a.score === b.score && a.left < b.left)) best = i;
    }
    const { left, right, text } = queue.splice(best, 1)[0];
    const [l, r] = [symbols[left], symbols[right]];
    if (!l.alive || !r.alive || l.text + r.text !== text) continue;
    l.text = text;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = left;
    tryAdd(l.prev, left);
    tryAdd(left, l.next);
  }
  const out: number[] = [];
  const resegment = (t: string) => {
    const id = idOf.get(t);
    if (id !== undefined) return void out.push(id);
    const parts = joinedFrom.get(t);
    if (parts) return parts.forEach(resegment);
    for (const byte of new TextEncoder().encode(t))
      out.push(idOf.get(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`)!);
  };
  for (let i = symbols.length ? 0 : -1; i >= 0; i = symbols[i].next) resegment(symbols[i].text);
  return out;
}
