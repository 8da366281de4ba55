// GGUF export: what @huggingface/gguf reads from the file, the weights read back in float64 and run as llama.cpp lays
// them out (against the float64 reference model), the Q8_0 quantiser against float64, and the tokenizer metadata.
import { describe, expect, it } from 'vitest';
import { GGUFValueType } from '@huggingface/gguf';
import { checkpointToGguf, GGUF_DTYPES, type GgufDtype } from '../../src/core/checkpoint/gguf_export.ts';
import { quantizeQ8_0 } from '../../src/core/checkpoint/gguf.ts';
import { halfToFloat } from '../../src/core/checkpoint/float16.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import type { HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import { makeGpt2Config, type GPT2Config } from '../../src/core/model/families/gpt2_config.ts';
import type { RefParams } from '../../src/core/model/reference/gpt2.ts';
import { CHAR_TO_BYTE } from '../../src/core/tokenizer/byte_level.ts';
import { CharTokenizer, loadGpt2Tokenizer, trainBpe, type Tokenizer } from '../../src/core/tokenizer/index.ts';
import { rng } from '../helpers.ts';
import { randomTensors } from './checkpoint_fixtures.ts';
import { fileBytes, greedy, llamaCppGpt2Names, parseWithHf, readBack, TYPE_ID } from './gguf_fixtures.ts';

const CHARS = [...' \nabcdefghijklmnopqrstuvwxyz.,é€🙂'];

function checkpoint(tokenizer: Tokenizer, dims: Partial<GPT2Config> = {}, seed?: number): HearthCheckpoint {
  const config = makeGpt2Config({
    vocab_size: tokenizer.vocabSize,
    n_positions: 24,
    n_embd: 32,
    n_layer: 2,
    n_head: 4,
    bos_token_id: tokenizer.eosTokenId,
    eos_token_id: tokenizer.eosTokenId,
    ...dims,
  });
  const weights = randomTensors(modelParameterShapes(config), seed ?? rng().seed, 0.4);
  return { config, weights, tokenizer: { 'tokenizer.json': tokenizer.toTokenizerJson() } };
}

/** The converter's rule: 1-D tensors (norms, biases) and position_embd stay F32; Q8_0 needs rows of whole blocks. */
function expectedType(name: string, dims: number[], dtype: GgufDtype): number {
  if (dtype === 'F32' || dims.length === 1 || name === 'position_embd.weight') return TYPE_ID.F32;
  if (dtype === 'Q8_0' && dims[0] % 32 !== 0) return TYPE_ID.F16;
  return TYPE_ID[dtype];
}

const bytesOf = (type: number, n: number) =>
  type === TYPE_ID.F32 ? 4 * n : type === TYPE_ID.F16 ? 2 * n : (n / 32) * 34;

describe('GGUF export', () => {
  const chars = new CharTokenizer(CHARS);

  it.each(GGUF_DTYPES)(
    '%s: @huggingface/gguf reads the metadata and every tensor with its shape, type and offset',
    async (dtype) => {
      const ckpt = checkpoint(chars, { vocab_size: chars.vocabSize + 3, n_inner: 96 });
      const c = ckpt.config as GPT2Config;
      const file = checkpointToGguf(ckpt, { dtype, name: 'tiny' });
      const bytes = fileBytes(file);
      const parsed = await parseWithHf(bytes);
      const m = parsed.metadata as Record<string, unknown>;
      expect(m.version).toBe(3);
      expect(m['general.architecture']).toBe('gpt2');
      expect(m['general.name']).toBe('tiny');
      expect(m['general.alignment']).toBe(32);
      expect(m['general.file_type']).toBe({ F32: 0, F16: 1, Q8_0: 7 }[dtype]);
      expect(m['gpt2.context_length']).toBe(24);
      expect(m['gpt2.embedding_length']).toBe(32);
      expect(m['gpt2.block_count']).toBe(2);
      expect(m['gpt2.feed_forward_length']).toBe(96);
      expect(m['gpt2.attention.head_count']).toBe(4);
      expect(m['gpt2.attention.layer_norm_epsilon']).toBeCloseTo(1e-5, 12);
      const typed = parsed.typedMetadata as Record<string, { type: number; subType?: number }>;
      expect(typed['gpt2.context_length'].type).toBe(GGUFValueType.UINT32);
      expect(typed['gpt2.attention.layer_norm_epsilon'].type).toBe(GGUFValueType.FLOAT32);
      expect(typed['tokenizer.ggml.token_type'].subType).toBe(GGUFValueType.INT32);
      expect(m['tokenizer.ggml.model']).toBe('gpt2');
      const tokens = m['tokenizer.ggml.tokens'] as string[];
      expect(tokens).toHaveLength(c.vocab_size);
      expect(tokens.slice(-3)).toEqual([
        `[PAD${c.vocab_size - 3}]`,
        `[PAD${c.vocab_size - 2}]`,
        `[PAD${c.vocab_size - 1}]`,
      ]);
      expect(m['tokenizer.ggml.eos_token_id']).toBe(chars.eosTokenId);
      expect(m['tokenizer.ggml.unknown_token_id']).toBe(chars.unknownTokenId);

      const expected = llamaCppGpt2Names(c.n_layer);
      expect(parsed.tensorInfos.map((t) => t.name).sort()).toEqual(expected.map(([n]) => n).sort());
      const shapes = modelParameterShapes(c);
      expect(Number(parsed.tensorDataOffset) % 32).toBe(0);
      let end = 0;
      const byOffset = [...parsed.tensorInfos].sort((a, b) => Number(a.offset - b.offset));
      for (const t of byOffset) {
        const [, hf, transposed] = expected.find(([n]) => n === t.name)!;
        const shape = shapes.get(hf)!;
        const ne = shape.length === 1 ? shape : transposed ? [shape[0], shape[1]] : [shape[1], shape[0]];
        expect(t.shape.map(Number), t.name).toEqual(ne);
        expect(t.dtype, t.name).toBe(expectedType(t.name, ne, dtype));
        expect(Number(t.offset) % 32, t.name).toBe(0);
        expect(Number(t.offset), t.name).toBeGreaterThanOrEqual(end);
        end =
          Number(t.offset) +
          bytesOf(
            t.dtype,
            ne.reduce((a, b) => a * b, 1),
          );
      }
      expect(bytes.length).toBe(Number(parsed.tensorDataOffset) + end + ((32 - (end % 32)) % 32));
    },
  );

  it('Q8_0 keeps a tensor whose rows are not whole blocks in F16, as the converter does', async () => {
    const ckpt = checkpoint(chars, { n_embd: 24, n_head: 2 });
    const parsed = await parseWithHf(fileBytes(checkpointToGguf(ckpt, { dtype: 'Q8_0' })));
    const types = new Map(parsed.tensorInfos.map((t) => [t.name, t.dtype]));
    expect(types.get('token_embd.weight')).toBe(TYPE_ID.F16); // rows of n_embd = 24
    expect(types.get('blk.0.ffn_down.weight')).toBe(TYPE_ID.Q8_0); // rows of 4·24 = 96
    expect(types.get('blk.0.attn_norm.weight')).toBe(TYPE_ID.F32);
  });

  it('the weights read back as llama.cpp lays them out give the reference model the same greedy continuation', async () => {
    const ckpt = checkpoint(chars);
    const c = ckpt.config as GPT2Config;
    const original: RefParams = new Map([...ckpt.weights].map(([n, t]) => [n, Float64Array.from(t.data)]));
    const prompt = chars.encode('hello wé€🙂rld');
    const want = greedy(c, original, prompt, 8);
    for (const dtype of GGUF_DTYPES) {
      const got = greedy(c, await readBack(fileBytes(checkpointToGguf(ckpt, { dtype })), c), prompt, 8);
      if (dtype === 'F32') {
        expect(got.ids).toEqual(want.ids);
        expect(got.logits).toEqual(want.logits); // the same float32 weights: the same float64 arithmetic
        continue;
      }
      // F16 and Q8_0 change the weights a little: the logits move by a small fraction of their spread.
      const spread = Math.max(...want.logits) - Math.min(...want.logits);
      const worst = Math.max(...got.logits.slice(0, c.vocab_size).map((x, i) => Math.abs(x - want.logits[i])));
      expect(worst, dtype).toBeLessThan((dtype === 'F16' ? 0.002 : 0.02) * spread);
    }
  });

  it('Q8_0 matches llama.cpp’s rounding and stays within half a step of the float64 values', () => {
    const r = rng();
    const n = 32 * 40;
    const x = new Float32Array(n);
    for (let b = 0; b < n / 32; b++) {
      const scale = 10 ** (r.uniform() * 8 - 5);
      for (let j = 0; j < 32; j++) x[32 * b + j] = r.normal() * scale;
    }
    x.fill(0, 64, 96); // an all-zero block
    // A block whose largest value is 127, so d is 1 exactly and halves must round away from zero.
    x.set([127, 2.5, -2.5, 0.5, -0.5, 126.5, -126.5], 96);
    x.fill(1, 103, 128);
    const q = quantizeQ8_0(x);
    expect(q.length).toBe((n / 32) * 34);
    const view = new DataView(q.buffer);
    for (let b = 0; b < n / 32; b++) {
      const block = x.subarray(32 * b, 32 * b + 32);
      const amax = Math.max(...block.map(Math.abs));
      const d = halfToFloat(view.getUint16(34 * b, true));
      const dExact = amax / 127;
      // d is max|x|/127 rounded to f16: relative 2^-11 when normal, half the smallest subnormal (2^-25) below that
      const dError = Math.max(dExact * 2 ** -11, 2 ** -25);
      expect(Math.abs(d - dExact)).toBeLessThanOrEqual(dError);
      for (let j = 0; j < 32; j++) {
        const qj = view.getInt8(34 * b + 2 + j);
        const xj = block[j];
        if (amax === 0) {
          expect(qj).toBe(0);
          continue;
        }
        expect(Math.abs(qj - xj / dExact), `block ${b} value ${j}`).toBeLessThanOrEqual(0.5 + 1e-5);
        // d·q against the float64 value: half a step, plus what rounding d to f16 moves 127 steps by
        expect(Math.abs(d * qj - xj)).toBeLessThanOrEqual(dExact * (0.5 + 1e-5) + 127 * dError);
        if (Math.abs(xj) === amax) expect(Math.abs(qj)).toBe(127);
      }
    }
    expect([...new Int8Array(q.buffer, 34 * 3 + 2, 7)]).toEqual([127, 3, -3, 1, -1, 127, -127]);
  });

  it('writes GPT-2’s tokenizer as llama.cpp’s gpt2 model: every token, its 50,000 merges and <|endoftext|> as control', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const ckpt = checkpoint(gpt2, { n_embd: 8, n_head: 2, n_layer: 1 });
    const m = (await parseWithHf(fileBytes(checkpointToGguf(ckpt)))).metadata as Record<string, unknown>;
    expect(m['tokenizer.ggml.model']).toBe('gpt2');
    expect(m['tokenizer.ggml.pre']).toBe('gpt-2');
    const tokens = m['tokenizer.ggml.tokens'] as string[];
    expect(tokens).toHaveLength(50257);
    expect(tokens[464]).toBe('The');
    expect(tokens[50256]).toBe('<|endoftext|>');
    const types = m['tokenizer.ggml.token_type'] as number[];
    expect(types[50256]).toBe(3);
    expect(types.filter((t) => t === 1)).toHaveLength(50256);
    const merges = m['tokenizer.ggml.merges'] as string[];
    expect(merges).toHaveLength(50000);
    expect(merges[0]).toBe('Ġ t');
    expect(m['tokenizer.ggml.bos_token_id']).toBe(50256);
    expect(m['tokenizer.ggml.eos_token_id']).toBe(50256);
    expect(m['tokenizer.ggml.add_bos_token']).toBe(false);
  });

  it('writes a trained BPE tokenizer’s vocabulary and merges in order', async () => {
    const bpe = await trainBpe(['the cat sat on the mat. the hat. '.repeat(20)], { vocabSize: 280 });
    const m = (await parseWithHf(fileBytes(checkpointToGguf(checkpoint(bpe))))).metadata as Record<string, unknown>;
    expect(m['tokenizer.ggml.tokens']).toEqual(bpe.tokens);
    expect(m['tokenizer.ggml.merges']).toEqual(bpe.merges.map(([a, b]) => `${a} ${b}`));
    expect(m['tokenizer.ggml.eos_token_id']).toBe(bpe.eosTokenId);
  });

  it('writes characters as byte-level tokens whose merges rebuild each multi-byte character', async () => {
    const m = (await parseWithHf(fileBytes(checkpointToGguf(checkpoint(chars))))).metadata as Record<string, unknown>;
    const tokens = m['tokenizer.ggml.tokens'] as string[];
    const merges = m['tokenizer.ggml.merges'] as string[];
    const utf8 = new TextEncoder();
    chars.tokens.forEach((text, id) => {
      if (id === chars.unknownTokenId || id === chars.eosTokenId) return expect(tokens[id]).toBe(text);
      expect([...tokens[id]].map((ch) => CHAR_TO_BYTE.get(ch))).toEqual([...utf8.encode(text)]);
    });
    expect(tokens[chars.tokens.indexOf(' ')]).toBe('Ġ');
    expect(tokens[chars.tokens.indexOf('é')]).toBe('Ã©');
    // é: one merge; €: two; 🙂: three (each joins the next byte on).
    expect(merges).toHaveLength(1 + 2 + 3);
    expect(merges).toContain('Ã ©');
    const types = m['tokenizer.ggml.token_type'] as number[];
    expect(types[chars.unknownTokenId]).toBe(2);
    expect(types[chars.eosTokenId]).toBe(3);
  });

  it('refuses what llama.cpp cannot run the same way, saying why', async () => {
    const bpe = await trainBpe(['abc abd abe '.repeat(10)], { vocabSize: 262 });
    const json = JSON.parse(bpe.toTokenizerJson());
    json.pre_tokenizer.add_prefix_space = true; // llama.cpp's byte-level tokenizer adds no prefix space
    const ckpt = checkpoint(bpe);
    expect(() => checkpointToGguf({ ...ckpt, tokenizer: { 'tokenizer.json': JSON.stringify(json) } })).toThrow(
      /cannot export GGUF: tokenizer.json's pre_tokenizer is not one llama.cpp is known to split the same way/,
    );
    const small = { ...ckpt, config: { ...ckpt.config, vocab_size: bpe.vocabSize - 1 } };
    small.weights = randomTensors(modelParameterShapes(small.config), 1);
    expect(() => checkpointToGguf(small)).toThrow(/the tokenizer has 262 tokens but the model's vocab_size is 261/);
    ckpt.weights.get('h.1.mlp.c_fc.bias')!.data[3] = NaN;
    expect(() => checkpointToGguf(ckpt)).toThrow(/h\.1\.mlp\.c_fc\.bias" holds NaN/);
  });
});
