// GPT-NeoX checkpoints as Hugging Face folders: a folder written the way transformers saves GPTNeoXForCausalLM
// ("gpt_neox." names, embed_out outside them, query_key_value fused with each head's rows [q | k | v], the older files'
// attention buffers beside the weights) imports and gives the float64 reference's logits; Hearth's export carries
// HF's names and config.json fields and imports back bit for bit; weights that contradict config.json are refused by
// name and shape; GGUF export refuses the family by name.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { hfSafetensors, rawTensor, type RawTensor } from '../unit/hf_fixtures.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { parameterShapes } from '../../src/core/model/families/index.ts';
import { makeNeoXConfig, rotaryDims, type NeoXConfig } from '../../src/core/model/families/gpt_neox_config.ts';
import { referenceNeoXLossAndGrads } from '../../src/core/model/reference/gpt_neox.ts';
import { checkpointFromFiles, checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { checkpointToGguf } from '../../src/core/checkpoint/gguf_export.ts';
import { parseSafetensorsHeader } from '../../src/core/checkpoint/safetensors.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';

const enc = new TextEncoder();

/** config.json as transformers 4.4x writes a GPTNeoXConfig (every key, both spellings of the rotary settings). */
function hfConfigJson(c: NeoXConfig): string {
  return JSON.stringify(
    {
      architectures: ['GPTNeoXForCausalLM'],
      attention_bias: c.attention_bias,
      attention_dropout: 0.0,
      bos_token_id: c.bos_token_id,
      classifier_dropout: 0.1,
      eos_token_id: c.eos_token_id,
      hidden_act: c.hidden_act,
      hidden_dropout: 0.0,
      hidden_size: c.hidden_size,
      initializer_range: 0.02,
      intermediate_size: c.intermediate_size,
      layer_norm_eps: c.layer_norm_eps,
      max_position_embeddings: c.max_position_embeddings,
      model_type: 'gpt_neox',
      num_attention_heads: c.num_attention_heads,
      num_hidden_layers: c.num_hidden_layers,
      partial_rotary_factor: c.rotary_pct,
      rope_scaling: null,
      rope_theta: c.rotary_emb_base,
      rotary_emb_base: c.rotary_emb_base,
      rotary_pct: c.rotary_pct,
      tie_word_embeddings: c.tie_word_embeddings,
      torch_dtype: 'float32',
      transformers_version: '4.46.0',
      use_cache: true,
      use_parallel_residual: c.use_parallel_residual,
      vocab_size: c.vocab_size,
    },
    null,
    2,
  );
}

const UNTIED = makeNeoXConfig({
  vocab_size: 31,
  hidden_size: 24,
  intermediate_size: 37,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  max_position_embeddings: 32,
  rotary_pct: 0.25,
  bos_token_id: 0,
  eos_token_id: 0,
});
const TIED_SEQUENTIAL = makeNeoXConfig({
  vocab_size: 27,
  hidden_size: 16,
  intermediate_size: 29,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  max_position_embeddings: 16,
  rotary_pct: 0.5,
  use_parallel_residual: false,
  attention_bias: false,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 1,
});

/** HF's name in a GPTNeoXForCausalLM file: under "gpt_neox." but for the head. */
const hfName = (name: string) => (name === 'embed_out.weight' ? name : `gpt_neox.${name}`);

/**
 * A save_pretrained folder of random weights under HF's names, with the attention buffers older transformers saved
 * per layer (the causal mask as BOOL, masked_bias, rotary_emb.inv_freq); `edit` changes the tensors before writing.
 */
function hfFolder(c: NeoXConfig, seed: number, edit?: (tensors: Map<string, RawTensor>) => void) {
  const r = rng(seed);
  const values = new Map<string, Float32Array>();
  const tensors = new Map<string, RawTensor>();
  for (const [name, shape] of parameterShapes(c)) {
    const data = r.normals(
      shape.reduce((a, b) => a * b, 1),
      0.3,
    );
    if (/norm\.weight$/.test(name)) for (let i = 0; i < data.length; i++) data[i] += 1;
    values.set(name, data);
    tensors.set(hfName(name), rawTensor(data, shape, 'F32'));
  }
  const P = c.max_position_embeddings;
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `gpt_neox.layers.${l}.attention.`;
    const mask = new Uint8Array(P * P).map((_, i) => (i % P <= Math.floor(i / P) ? 1 : 0));
    tensors.set(`${p}bias`, { dtype: 'BOOL', shape: [1, 1, P, P], bytes: mask });
    tensors.set(`${p}masked_bias`, rawTensor(new Float32Array([-1e9]), [], 'F32'));
    tensors.set(
      `${p}rotary_emb.inv_freq`,
      rawTensor(new Float32Array(rotaryDims(c) / 2).fill(1), [rotaryDims(c) / 2], 'F32'),
    );
  }
  edit?.(tensors);
  const files = new Map<string, Uint8Array>([
    ['config.json', enc.encode(hfConfigJson(c))],
    ['model.safetensors', hfSafetensors(tensors)],
    ['tokenizer.json', enc.encode(charTokenizerFrom('abcdef').toTokenizerJson())],
  ]);
  return { files, values };
}

describe('GPT-NeoX checkpoints', () => {
  useGpu();

  for (const config of [UNTIED, TIED_SEQUENTIAL]) {
    const label = config.tie_word_embeddings ? 'tied head, sequential residual' : 'untied head, parallel residual';

    it(`a save_pretrained folder of HF-named weights imports and gives the reference's logits (${label})`, async () => {
      const seed = rng().seed;
      const { files, values } = hfFolder(config, seed);
      const ckpt = checkpointFromFiles(files);
      expect(ckpt.config).toMatchObject({
        model_type: 'gpt_neox',
        rotary_pct: config.rotary_pct,
        use_parallel_residual: config.use_parallel_residual,
      });
      expect([...ckpt.weights.keys()]).toEqual(parameterShapes(config).map(([n]) => n));
      const model = CausalLM.fromArrays(ckpt.config, ckpt.weights);
      const B = 2;
      const T = 7;
      const tokens = rng(seed + 1).ints(B * T, config.vocab_size);
      const ref = new Map([...values].map(([n, v]) => [n, Float64Array.from(v)]));
      const expected = referenceNeoXLossAndGrads(config, ref, tokens, tokens, B, T);
      const logits = model.forward(tokens, B, T);
      expect(relError(await logits.data(), expected.logits), `seed ${seed}`).toBeLessThan(1e-4);
      tf.dispose(logits);
      model.dispose();
    });

    it(`export carries HF's names and config.json fields, and imports back bit for bit (${label})`, async () => {
      const model = CausalLM.init(config, rng().seed);
      const weights = await model.toArrays();
      model.dispose();
      const tokenizer = { 'tokenizer.json': charTokenizerFrom('abcdef').toTokenizerJson() };
      const files = checkpointToFiles({ config, weights, tokenizer });
      const written = JSON.parse(new TextDecoder().decode(files.get('config.json')));
      expect(written).toMatchObject({
        architectures: ['GPTNeoXForCausalLM'],
        model_type: 'gpt_neox',
        torch_dtype: 'float32',
        hidden_act: 'gelu',
        rotary_pct: config.rotary_pct,
        partial_rotary_factor: config.rotary_pct,
        rotary_emb_base: 10000,
        rope_theta: 10000,
        use_parallel_residual: config.use_parallel_residual,
        attention_bias: config.attention_bias,
        tie_word_embeddings: config.tie_word_embeddings,
        vocab_size: config.vocab_size,
      });
      const names = parseSafetensorsHeader(files.get('model.safetensors')!, 'model.safetensors').entries.map(
        (e) => e.name,
      );
      expect(names).toContain('gpt_neox.embed_in.weight');
      expect(names).toContain('gpt_neox.layers.0.attention.query_key_value.weight');
      expect(names).toContain('gpt_neox.final_layer_norm.bias');
      expect(names.includes('gpt_neox.layers.0.attention.dense.bias')).toBe(config.attention_bias);
      expect(names.includes('embed_out.weight')).toBe(!config.tie_word_embeddings);
      const back = checkpointFromFiles(files);
      expect(back.config).toEqual({ ...config, torch_dtype: 'float32' });
      for (const [n, t] of weights) expect(bitwiseEqual(t, back.weights.get(n)!), n).toBe(true);
    });
  }

  it("query_key_value is read per head as [q_h | k_h | v_h]: swapping head 0's keys with head 1's queries changes the logits", async () => {
    // the layout matters (so the comparison with the reference, which reads HF's layout, tests it): head 0's key
    // rows and head 1's query rows swapped are another model
    const { files } = hfFolder(UNTIED, 3);
    const ckpt = checkpointFromFiles(files);
    const qkv = ckpt.weights.get('layers.0.attention.query_key_value.weight')!;
    const C = UNTIED.hidden_size;
    const D = C / UNTIED.num_attention_heads;
    const swapped = qkv.data.slice();
    swapped.set(qkv.data.subarray(3 * D * C, 4 * D * C), D * C);
    swapped.set(qkv.data.subarray(D * C, 2 * D * C), 3 * D * C);
    const tokens = Int32Array.from([1, 2, 3, 4, 5, 6]);
    const a = CausalLM.fromArrays(UNTIED, ckpt.weights);
    const b = CausalLM.fromArrays(
      UNTIED,
      new Map([...ckpt.weights, ['layers.0.attention.query_key_value.weight', { shape: qkv.shape, data: swapped }]]),
    );
    const [la, lb] = [a.forward(tokens, 1, 6), b.forward(tokens, 1, 6)];
    expect(relError(await lb.data(), await la.data())).toBeGreaterThan(1e-3);
    tf.dispose([la, lb]);
    a.dispose();
    b.dispose();
  });

  it('a tied head in the file must equal the embedding; an untied one must be there', () => {
    const emb = () => hfFolder(TIED_SEQUENTIAL, 5).values.get('embed_in.weight')!;
    const shape = [TIED_SEQUENTIAL.vocab_size, TIED_SEQUENTIAL.hidden_size];
    const withHead = (data: Float32Array) =>
      hfFolder(TIED_SEQUENTIAL, 5, (t) => t.set('embed_out.weight', rawTensor(data, shape, 'F32'))).files;
    expect(() => checkpointFromFiles(withHead(emb()))).not.toThrow();
    expect(() => checkpointFromFiles(withHead(emb().map((x) => x + 1)))).toThrow(
      /embed_out\.weight differs from embed_in\.weight/,
    );
    const noHead = hfFolder(UNTIED, 6, (t) => t.delete('embed_out.weight')).files;
    expect(() => checkpointFromFiles(noHead)).toThrow(/missing tensor "embed_out\.weight"/);
  });

  it('weights that contradict config.json are refused, naming the tensor and both shapes', () => {
    const { files } = hfFolder(UNTIED, 7);
    const wider = { ...JSON.parse(hfConfigJson(UNTIED)), intermediate_size: 40 };
    files.set('config.json', enc.encode(JSON.stringify(wider)));
    expect(() => checkpointFromFiles(files)).toThrow(
      /tensor "gpt_neox\.layers\.0\.mlp\.dense_4h_to_h\.weight" has shape \(24, 37\) but config\.json implies \(24, 40\)/,
    );
    const unbiased = hfFolder(UNTIED, 8).files;
    unbiased.set(
      'config.json',
      enc.encode(JSON.stringify({ ...JSON.parse(hfConfigJson(UNTIED)), attention_bias: false })),
    );
    expect(() => checkpointFromFiles(unbiased)).toThrow(/"gpt_neox\.layers\.0\.attention\.query_key_value\.bias"/);
  });

  it('GGUF export refuses GPT-NeoX by name', async () => {
    const model = CausalLM.init(TIED_SEQUENTIAL, 1);
    const weights = await model.toArrays();
    model.dispose();
    const tokenizer = { 'tokenizer.json': charTokenizerFrom('abcdef').toTokenizerJson() };
    expect(() => checkpointToGguf({ config: TIED_SEQUENTIAL, weights, tokenizer })).toThrow(
      /cannot export GGUF: model_type "gpt_neox" has no GGUF layout/,
    );
  });
});
