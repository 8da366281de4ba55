// GGUF export of the Llama family (llama and mistral as llama.cpp's "llama", qwen2 as its "qwen2"): what
// @huggingface/gguf reads back (metadata, every tensor's name, shape and type), the q/k row permutation against a
// plain reshape-and-swap, Llama 3's rope_freqs against Hugging Face's scaled frequencies, and a float64 forward pass
// run as llama.cpp runs these architectures from the file alone against Hearth's float64 reference model; then the
// tokenizer metadata of real Llama 2, Llama 3 and Qwen tokenizers, and what is refused.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GGUFValueType } from '@huggingface/gguf';
import { checkpointToGguf, GGUF_DTYPES, type GgufDtype } from '../../src/core/checkpoint/gguf_export.ts';
import { ggufTokenizerMetadata } from '../../src/core/checkpoint/gguf_tokenizer.ts';
import { ggufPreTokenizer } from '../../src/core/checkpoint/gguf_pretokenizer.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import type { HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import type { GgufValue } from '../../src/core/checkpoint/gguf.ts';
import { headDim, makeLlamaConfig, type LlamaConfig } from '../../src/core/model/families/llama_config.ts';
import type { ModelConfig } from '../../src/core/model/families/index.ts';
import { referenceLlamaLossAndGrads } from '../../src/core/model/reference/llama.ts';
import type { RefParams } from '../../src/core/model/reference/gpt2.ts';
import { ropeInvFreq } from '../../src/core/model/rope.ts';
import { CharTokenizer, loadGpt2Tokenizer, tokenizerFromHfFiles, trainBpe } from '../../src/core/tokenizer/index.ts';
import { rng } from '../helpers.ts';
import { randomTensors } from './checkpoint_fixtures.ts';
import { fileBytes, ggufTensors, llamaCppGreedy, llamaCppSpmEncode, parseWithHf, TYPE_ID } from './gguf_fixtures.ts';
import { realTokenizerFiles, TEXT_KINDS } from './tokenizer_fixtures.ts';

const chars = new CharTokenizer([...' \nabcdefghijklmnopqrstuvwxyz.,é']);
const ids = { vocab_size: chars.vocabSize + 2, bos_token_id: chars.eosTokenId, eos_token_id: chars.eosTokenId };

const CASES: [label: string, config: LlamaConfig][] = [
  [
    'llama: 4 query heads on 2 key/value heads, attention biases, untied, llama3 rope scaling',
    makeLlamaConfig('llama', {
      ...ids,
      hidden_size: 32,
      intermediate_size: 40,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-5,
      rope_theta: 500,
      attention_bias: true,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 4,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 64,
      },
    }),
  ],
  [
    'mistral: 1 key/value head, linear rope scaling',
    makeLlamaConfig('mistral', {
      ...ids,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 32,
      sliding_window: null,
      rope_theta: 1000,
      rope_scaling: { type: 'linear', factor: 2 },
    }),
  ],
  [
    'qwen2: q/k/v biases, tied head, a head_dim of its own',
    makeLlamaConfig('qwen2', {
      ...ids,
      hidden_size: 32,
      head_dim: 12,
      intermediate_size: 48,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 32,
      tie_word_embeddings: true,
      rope_theta: 10000,
    }),
  ],
];

function checkpoint(config: LlamaConfig, seed = rng().seed): HearthCheckpoint {
  const weights = randomTensors(modelParameterShapes(config), seed, 0.4);
  // norm gains near 1, so that the forward pass says something about every weight
  for (const [name, t] of weights) if (name.endsWith('norm.weight')) t.data = t.data.map((x) => 1 + 0.2 * x);
  return { config, weights, tokenizer: { 'tokenizer.json': chars.toTokenizerJson() } };
}

/** Hugging Face's parameter per GGUF tensor, written out by hand from gguf-py's tensor map. */
function expectedTensors(c: LlamaConfig): Map<string, string> {
  const out = new Map([
    ['token_embd.weight', 'embed_tokens.weight'],
    ['output_norm.weight', 'norm.weight'],
  ]);
  if (!c.tie_word_embeddings) out.set('output.weight', 'lm_head.weight');
  const shapes = modelParameterShapes(c);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const names: [string, string][] = [
      ['attn_norm', 'input_layernorm'],
      ['attn_q', 'self_attn.q_proj'],
      ['attn_k', 'self_attn.k_proj'],
      ['attn_v', 'self_attn.v_proj'],
      ['attn_output', 'self_attn.o_proj'],
      ['ffn_norm', 'post_attention_layernorm'],
      ['ffn_gate', 'mlp.gate_proj'],
      ['ffn_up', 'mlp.up_proj'],
      ['ffn_down', 'mlp.down_proj'],
    ];
    for (const [g, h] of names)
      for (const part of ['weight', 'bias'])
        if (shapes.has(`layers.${l}.${h}.${part}`)) out.set(`blk.${l}.${g}.${part}`, `layers.${l}.${h}.${part}`);
  }
  return out;
}

/** numpy's reshape(heads, 2, D/2, cols).swapaxes(1, 2).reshape(rows, cols), with nested arrays. */
function plainPermute(x: Float32Array, rows: number, cols: number, heads: number): number[] {
  const half = rows / heads / 2;
  const nested = Array.from({ length: heads }, (_, h) =>
    Array.from({ length: 2 }, (_, j) =>
      Array.from({ length: half }, (_, i) => [
        ...x.subarray(((h * 2 + j) * half + i) * cols, ((h * 2 + j) * half + i + 1) * cols),
      ]),
    ),
  );
  const swapped = nested.map((byJ) => Array.from({ length: half }, (_, i) => [byJ[0][i], byJ[1][i]]));
  return swapped.flat(3);
}

function referenceGreedy(c: LlamaConfig, ckpt: HearthCheckpoint, prompt: number[], steps: number) {
  const params: RefParams = new Map([...ckpt.weights].map(([n, t]) => [n, Float64Array.from(t.data)]));
  const out = [...prompt];
  const logits: number[] = [];
  for (let s = 0; s < steps; s++) {
    const T = out.length;
    const r = referenceLlamaLossAndGrads(c, params, Int32Array.from(out), new Int32Array(T).fill(-100), 1, T);
    const row = r.logits.subarray((T - 1) * c.vocab_size, T * c.vocab_size);
    let best = 0;
    for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
    logits.push(...row);
    out.push(best);
  }
  return { ids: out.slice(prompt.length), logits };
}

const expectedType = (name: string, ne: number[], dtype: GgufDtype) => {
  if (dtype === 'F32' || ne.length === 1) return TYPE_ID.F32;
  if (dtype === 'Q8_0' && ne[0] % 32 !== 0) return TYPE_ID.F16;
  return TYPE_ID[dtype];
};

describe('GGUF export of the Llama family', () => {
  for (const [label, c] of CASES) {
    const arch = c.model_type === 'qwen2' ? 'qwen2' : 'llama';

    it.each(GGUF_DTYPES)(`${label} (%s): metadata, tensor names, shapes and types`, async (dtype) => {
      const ckpt = checkpoint(c);
      const parsed = await parseWithHf(fileBytes(checkpointToGguf(ckpt, { dtype, name: 'tiny' })));
      const m = parsed.metadata as Record<string, unknown>;
      expect(m['general.architecture']).toBe(arch);
      expect(m['general.name']).toBe('tiny');
      expect(m['general.file_type']).toBe({ F32: 0, F16: 1, Q8_0: 7 }[dtype]);
      expect(m[`${arch}.context_length`]).toBe(32);
      expect(m[`${arch}.embedding_length`]).toBe(32);
      expect(m[`${arch}.block_count`]).toBe(2);
      expect(m[`${arch}.feed_forward_length`]).toBe(c.intermediate_size);
      expect(m[`${arch}.attention.head_count`]).toBe(c.num_attention_heads);
      expect(m[`${arch}.attention.head_count_kv`]).toBe(c.num_key_value_heads);
      expect(m[`${arch}.attention.layer_norm_rms_epsilon`]).toBeCloseTo(c.rms_norm_eps, 12);
      expect(m[`${arch}.rope.freq_base`]).toBe(c.rope_theta);
      if (arch === 'llama') {
        expect(m['llama.vocab_size']).toBe(c.vocab_size);
        expect(m['llama.rope.dimension_count']).toBe(headDim(c));
      }
      const ownHead = headDim(c) * c.num_attention_heads !== c.hidden_size;
      expect(m[`${arch}.attention.key_length`]).toBe(ownHead ? headDim(c) : undefined);
      const linear = c.model_type === 'mistral';
      expect(m[`${arch}.rope.scaling.type`]).toBe(linear ? 'linear' : undefined);
      expect(m[`${arch}.rope.scaling.factor`]).toBe(linear ? 2 : undefined);
      const typed = parsed.typedMetadata as Record<string, { type: number }>;
      expect(typed[`${arch}.attention.head_count_kv`].type).toBe(GGUFValueType.UINT32);
      expect(typed[`${arch}.rope.freq_base`].type).toBe(GGUFValueType.FLOAT32);

      const expected = expectedTensors(c);
      const names = parsed.tensorInfos.map((t) => t.name);
      const llama3 = c.rope_scaling?.rope_type === 'llama3';
      expect(names.sort()).toEqual([...expected.keys(), ...(llama3 ? ['rope_freqs.weight'] : [])].sort());
      const shapes = modelParameterShapes(c);
      for (const t of parsed.tensorInfos) {
        const ne = t.shape.map(Number);
        if (t.name === 'rope_freqs.weight') {
          expect(ne).toEqual([headDim(c) / 2]);
          expect(t.dtype).toBe(TYPE_ID.F32);
          continue;
        }
        const shape = shapes.get(expected.get(t.name)!)!;
        expect(ne, t.name).toEqual([...shape].reverse());
        expect(t.dtype, t.name).toBe(expectedType(t.name, ne, dtype));
      }
    });

    it(`${label}: the file run as llama.cpp runs "${arch}" continues a prompt as Hearth's reference model`, async () => {
      const ckpt = checkpoint(c);
      const prompt = chars.encode('the cat é sat');
      const want = referenceGreedy(c, ckpt, prompt, 6);
      const spread = Math.max(...want.logits) - Math.min(...want.logits);
      for (const dtype of ['F32', 'F16'] as const) {
        const { metadata, tensors } = await ggufTensors(fileBytes(checkpointToGguf(ckpt, { dtype })));
        const got = llamaCppGreedy(metadata, tensors, prompt, 6);
        if (dtype === 'F32') {
          expect(got.ids).toEqual(want.ids);
          // the same weights; only the order of float64 sums and float32 vs float64 frequencies differ
          const worst = Math.max(...got.logits.map((x, i) => Math.abs(x - want.logits[i])));
          expect(worst).toBeLessThan(1e-5 * spread);
        } else {
          // rounded weights: the first step's logits move a little (later steps may take another token)
          const worst = Math.max(...want.logits.slice(0, c.vocab_size).map((x, i) => Math.abs(x - got.logits[i])));
          expect(worst).toBeLessThan(0.005 * spread);
        }
      }
    });
  }

  it('permutes the rows of q and k (weights and biases) per head for llama, as the converter’s permute()', async () => {
    const [[, llama], , [, qwen2]] = CASES;
    const ckpt = checkpoint(llama);
    const { tensors } = await ggufTensors(fileBytes(checkpointToGguf(ckpt)));
    const C = llama.hidden_size;
    const D = headDim(llama);
    for (const [g, h, heads] of [
      ['attn_q', 'q_proj', llama.num_attention_heads],
      ['attn_k', 'k_proj', llama.num_key_value_heads],
    ] as const) {
      const w = ckpt.weights.get(`layers.1.self_attn.${h}.weight`)!.data;
      const b = ckpt.weights.get(`layers.1.self_attn.${h}.bias`)!.data;
      expect([...tensors.get(`blk.1.${g}.weight`)!]).toEqual(plainPermute(w, heads * D, C, heads));
      expect([...tensors.get(`blk.1.${g}.bias`)!]).toEqual(plainPermute(b, heads * D, 1, heads));
      expect([...tensors.get(`blk.1.${g}.weight`)!]).not.toEqual([...w]);
    }
    expect([...tensors.get('blk.0.attn_v.weight')!]).toEqual([
      ...ckpt.weights.get('layers.0.self_attn.v_proj.weight')!.data,
    ]);
    // qwen2 runs NeoX-style rotary embedding on the halves, as Hugging Face does: nothing permuted
    const q = checkpoint(qwen2);
    const qt = (await ggufTensors(fileBytes(checkpointToGguf(q)))).tensors;
    expect([...qt.get('blk.0.attn_q.weight')!]).toEqual([...q.weights.get('layers.0.self_attn.q_proj.weight')!.data]);
    expect([...qt.get('blk.0.attn_k.bias')!]).toEqual([...q.weights.get('layers.0.self_attn.k_proj.bias')!.data]);
  });

  it('writes Llama 3’s rope scaling as rope_freqs: each frequency’s divisor, as Hugging Face scales it', async () => {
    const [[, llama]] = CASES;
    const { tensors } = await ggufTensors(fileBytes(checkpointToGguf(checkpoint(llama))));
    const factors = tensors.get('rope_freqs.weight')!;
    const plain = ropeInvFreq(headDim(llama), llama.rope_theta);
    const scaled = ropeInvFreq(headDim(llama), llama.rope_theta, llama.rope_scaling);
    expect(factors.length).toBe(plain.length);
    for (let i = 0; i < plain.length; i++) expect(factors[i]).toBeCloseTo(plain[i] / scaled[i], 5);
    // the test's sizes reach all three cases: kept, divided by factor, and blended
    expect(factors[0]).toBe(1);
    expect(factors[factors.length - 1]).toBe(4);
    expect([...factors].some((f) => f > 1 && f < 4)).toBe(true);
  });

  it('refuses model types without a GGUF layout, and what llama.cpp’s qwen2 cannot run, by name', () => {
    const ckpt = checkpoint(CASES[0][1]);
    const neox = { ...ckpt, config: { ...ckpt.config, model_type: 'gpt_neox' } as unknown as ModelConfig };
    expect(() => checkpointToGguf(neox)).toThrow(
      /cannot export GGUF: model_type "gpt_neox" has no GGUF layout in Hearth \(GGUF export supports gpt2, llama, mistral, qwen2\)/,
    );
    const qwen2 = makeLlamaConfig('qwen2', {
      ...ids,
      hidden_size: 16,
      intermediate_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      max_position_embeddings: 16,
      rope_scaling: CASES[0][1].rope_scaling,
    });
    expect(() => checkpointToGguf(checkpoint(qwen2))).toThrow(/rope_scaling type "llama3" on a qwen2 model/);
  });
});

/** The tokenizer metadata as a map, for a model of `vocab` rows. */
function tokenizerMeta(files: HearthCheckpoint['tokenizer'], vocab: number, bos: number | null = null) {
  const c = { vocab_size: vocab, bos_token_id: bos } as ModelConfig;
  return new Map<string, unknown>(
    ggufTokenizerMetadata(files, undefined, c).map(([k, v]: [string, GgufValue]) => [k, v.value]),
  );
}

describe('GGUF tokenizer metadata from Hugging Face tokenizer.json', () => {
  const real = (name: 'llama2' | 'llama3' | 'qwen3') => {
    const f = realTokenizerFiles(name);
    return { 'tokenizer.json': f.tokenizerJson, 'tokenizer_config.json': f.tokenizerConfig };
  };

  it('Llama 3: byte-level BPE with the llama-bpe split, its merges, special tokens as control, its chat template', () => {
    const m = tokenizerMeta(real('llama3'), 128256);
    expect(m.get('tokenizer.ggml.model')).toBe('gpt2');
    expect(m.get('tokenizer.ggml.pre')).toBe('llama-bpe');
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    const types = m.get('tokenizer.ggml.token_type') as number[];
    expect(tokens).toHaveLength(128256);
    expect(tokens[128000]).toBe('<|begin_of_text|>');
    expect(types.slice(128000).every((t) => t === 3)).toBe(true);
    expect(types.slice(0, 128000).every((t) => t === 1)).toBe(true);
    expect((m.get('tokenizer.ggml.merges') as string[]).length).toBe(280147);
    expect((m.get('tokenizer.ggml.merges') as string[])[0]).toBe('Ġ Ġ');
    expect(m.get('tokenizer.ggml.bos_token_id')).toBe(128000);
    expect(m.get('tokenizer.ggml.eos_token_id')).toBe(128001);
    // this copy's post-processor adds no <|begin_of_text|>: llama.cpp must not either
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(false);
    expect(m.get('tokenizer.chat_template')).toMatch(/start_header_id/);
    expect(m.has('tokenizer.ggml.scores')).toBe(false);
  });

  it('Qwen: the qwen2 split, merges written as pairs, eos and padding from tokenizer_config.json', () => {
    const m = tokenizerMeta(real('qwen3'), 151936);
    expect(m.get('tokenizer.ggml.pre')).toBe('qwen2');
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    expect(tokens[151645]).toBe('<|im_end|>');
    expect(tokens[151935]).toBe('[PAD151935]');
    expect((m.get('tokenizer.ggml.token_type') as number[])[151935]).toBe(5);
    expect((m.get('tokenizer.ggml.merges') as string[])[0]).toBe('Ġ Ġ');
    expect(m.get('tokenizer.ggml.eos_token_id')).toBe(151645);
    expect(m.get('tokenizer.ggml.padding_token_id')).toBe(151643);
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(false);
  });

  it('Llama 2: SentencePiece-style "llama" vocabulary with scores by merge rank, byte tokens and a space prefix', () => {
    const m = tokenizerMeta(real('llama2'), 32000, 1);
    expect(m.get('tokenizer.ggml.model')).toBe('llama');
    expect(m.get('tokenizer.ggml.pre')).toBe('default');
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    const types = m.get('tokenizer.ggml.token_type') as number[];
    const scores = m.get('tokenizer.ggml.scores') as number[];
    expect(tokens).toHaveLength(32000);
    expect(scores).toHaveLength(32000);
    expect([types[0], types[1], types[2]]).toEqual([2, 3, 3]); // <unk>, <s>, </s>
    expect(tokens[3]).toBe('<0x00>');
    expect(types.filter((t) => t === 6)).toHaveLength(256);
    // "▁t" is the first merge, so it scores highest of the merged tokens
    const t = tokens.indexOf('▁t');
    expect(scores[t]).toBe(-0);
    expect(Math.max(...scores.filter((_, i) => i !== t && [...tokens[i]].length > 1 && types[i] === 1))).toBeLessThan(
      0,
    );
    expect(m.has('tokenizer.ggml.merges')).toBe(false);
    expect(m.get('tokenizer.ggml.bos_token_id')).toBe(1);
    expect(m.get('tokenizer.ggml.eos_token_id')).toBe(2);
    expect(m.get('tokenizer.ggml.unknown_token_id')).toBe(0);
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(m.get('tokenizer.ggml.add_space_prefix')).toBe(true);
  });

  it('names SmolLM’s split (digits one by one, then GPT-2’s pattern) smollm, and refuses a split it does not know', async () => {
    const bpe = await trainBpe(['the cat sat on 123 mats. '.repeat(20)], { vocabSize: 270 });
    const json = JSON.parse(bpe.toTokenizerJson());
    const byteLevel = json.pre_tokenizer;
    json.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel] };
    const files = (j: unknown) => ({
      'tokenizer.json': JSON.stringify(j),
      'tokenizer_config.json': JSON.stringify({ eos_token: '<|endoftext|>', chat_template: '{{ messages }}' }),
    });
    const m = tokenizerMeta(files(json), 272);
    expect(m.get('tokenizer.ggml.pre')).toBe('smollm');
    expect(m.get('tokenizer.ggml.tokens')).toEqual([...bpe.tokens, '[PAD270]', '[PAD271]']);
    expect(m.get('tokenizer.chat_template')).toBe('{{ messages }}');
    json.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: false },
        { ...byteLevel, use_regex: false },
      ],
    };
    expect(() => tokenizerMeta(files(json), 272)).toThrow(
      /cannot export GGUF: tokenizer.json's pre_tokenizer is not one llama.cpp is known to split the same way/,
    );
  });

  it('adds BOS in llama.cpp when the post-processor puts a token first, and refuses a template llama.cpp cannot follow', async () => {
    const bpe = await trainBpe(['the cat sat on the mat. '.repeat(20)], { vocabSize: 265 });
    const json = JSON.parse(bpe.toTokenizerJson());
    const eot = { id: '<|endoftext|>', ids: [bpe.eosTokenId], tokens: ['<|endoftext|>'] };
    const token = { SpecialToken: { id: '<|endoftext|>', type_id: 0 } };
    const text = { Sequence: { id: 'A', type_id: 0 } };
    const withTemplate = (single: unknown[]) => ({
      'tokenizer.json': JSON.stringify({
        ...json,
        post_processor: { type: 'TemplateProcessing', single, pair: single, special_tokens: { '<|endoftext|>': eot } },
      }),
    });
    const m = tokenizerMeta(withTemplate([token, text]), 265);
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(m.get('tokenizer.ggml.bos_token_id')).toBe(bpe.eosTokenId);
    expect(m.get('tokenizer.ggml.add_eos_token')).toBe(false);
    expect(tokenizerMeta(withTemplate([text, token]), 265).get('tokenizer.ggml.add_eos_token')).toBe(true);
    expect(() => tokenizerMeta(withTemplate([token, token, text]), 265)).toThrow(
      /cannot export GGUF: the tokenizer wraps a text as \[\d+,\d+\] … \[\], which llama.cpp cannot/,
    );
  });

  it('names the pre-tokenizer as the converter’s hash of a fixed text does for GPT-2, Llama 3 and Qwen', async () => {
    // get_vocab_base_pre: sha256 of str(tokenizer.encode(chktxt)), looked up in a table; these three rows of it
    const chktxt =
      '\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 ' +
      '33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на ' +
      "Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, " +
      "'D you like some tea? We'Ve a'lL";
    const table: Record<string, string> = {
      '3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454': 'gpt-2',
      '0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5': 'llama-bpe',
      e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea: 'qwen2',
    };
    const hashName = (ids: number[]) =>
      table[
        createHash('sha256')
          .update(`[${ids.join(', ')}]`)
          .digest('hex')
      ];
    const gpt2 = await loadGpt2Tokenizer();
    expect(hashName(gpt2.encode(chktxt))).toBe(ggufPreTokenizer(JSON.parse(gpt2.toTokenizerJson())));
    for (const name of ['llama3', 'qwen3'] as const) {
      const f = realTokenizerFiles(name);
      const t = tokenizerFromHfFiles({ tokenizerJson: f.tokenizerJson, tokenizerConfig: f.tokenizerConfig });
      // Meta's own Llama 3 files put <|begin_of_text|> first; this copy's post-processor does not
      const ids = name === 'llama3' ? [128000, ...t.encode(chktxt)] : t.encode(chktxt);
      expect(hashName(ids), name).toBe(ggufPreTokenizer(JSON.parse(f.tokenizerJson)));
    }
  });

  it('Llama 2: llama.cpp’s SentencePiece tokenizer on the written scores encodes text as Hearth does', () => {
    const files = real('llama2');
    const m = tokenizerMeta(files, 32000, 1);
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    const scores = m.get('tokenizer.ggml.scores') as number[];
    const t = tokenizerFromHfFiles({
      tokenizerJson: files['tokenizer.json'],
      tokenizerConfig: files['tokenizer_config.json'],
    });
    for (const [kind, text] of Object.entries(TEXT_KINDS)) {
      const want = t.encode(text, { addSpecialTokens: false });
      expect(llamaCppSpmEncode(tokens, scores, text, true), kind).toEqual(want);
    }
  });
});
