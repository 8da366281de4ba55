// Llama-family checkpoints as Hugging Face folders: a folder written the way transformers' save_pretrained writes one
// (its own small safetensors writer here, not Hearth's) imports and gives the float64 reference's logits; Hearth's
// export carries HF's names and config.json fields and imports back bit for bit.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { parameterShapes } from '../../src/core/model/families/index.ts';
import { makeLlamaConfig, type LlamaConfig } from '../../src/core/model/families/llama_config.ts';
import { referenceLlamaLossAndGrads } from '../../src/core/model/reference/llama.ts';
import { checkpointFromFiles, checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { parseSafetensorsHeader } from '../../src/core/checkpoint/safetensors.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';

const enc = new TextEncoder();

/** safetensors as the Python library writes it: u64 header length, JSON header padded with spaces to 8 bytes, data. */
function safetensorsFile(tensors: [string, number[], Float32Array][]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(enc.encode(json), 8);
  let at = 8 + json.length;
  for (const [, , data] of tensors) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/** config.json as transformers 4.4x writes a LlamaConfig / Qwen2Config (every key, its own order). */
function hfConfigJson(c: LlamaConfig): string {
  const json: Record<string, unknown> = {
    architectures: c.architectures,
    attention_dropout: 0.0,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    head_dim: c.head_dim,
    hidden_act: 'silu',
    hidden_size: c.hidden_size,
    initializer_range: 0.02,
    intermediate_size: c.intermediate_size,
    max_position_embeddings: c.max_position_embeddings,
    model_type: c.model_type,
    num_attention_heads: c.num_attention_heads,
    num_hidden_layers: c.num_hidden_layers,
    num_key_value_heads: c.num_key_value_heads,
    rms_norm_eps: c.rms_norm_eps,
    rope_scaling: c.rope_scaling,
    rope_theta: c.rope_theta,
    tie_word_embeddings: c.tie_word_embeddings,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
    vocab_size: c.vocab_size,
  };
  if (c.model_type === 'llama') Object.assign(json, { attention_bias: false, mlp_bias: false, pretraining_tp: 1 });
  if (c.model_type === 'qwen2')
    Object.assign(json, { use_sliding_window: false, sliding_window: 4096, max_window_layers: 21 });
  return JSON.stringify(json, null, 2);
}

const LLAMA = makeLlamaConfig('llama', {
  vocab_size: 31,
  hidden_size: 24,
  intermediate_size: 37,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-5,
  bos_token_id: 0,
  eos_token_id: 0,
});
const QWEN2_TIED = makeLlamaConfig('qwen2', {
  vocab_size: 27,
  hidden_size: 16,
  intermediate_size: 29,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 1,
});

/** A save_pretrained folder of random weights under HF's names ("model." prefix; lm_head only when untied). */
function hfFolder(c: LlamaConfig, seed: number) {
  const r = rng(seed);
  const values = new Map<string, Float32Array>();
  const tensors: [string, number[], Float32Array][] = [];
  for (const [name, shape] of parameterShapes(c)) {
    const data = r.normals(
      shape.reduce((a, b) => a * b, 1),
      0.3,
    );
    if (name.endsWith('norm.weight')) for (let i = 0; i < data.length; i++) data[i] += 1;
    values.set(name, data);
    tensors.push([name === 'lm_head.weight' ? name : `model.${name}`, shape, data]);
  }
  tensors.sort(([a], [b]) => (a < b ? -1 : 1)); // safetensors files list tensors sorted
  const files = new Map<string, Uint8Array>([
    ['config.json', enc.encode(hfConfigJson(c))],
    ['model.safetensors', safetensorsFile(tensors)],
    ['tokenizer.json', enc.encode(charTokenizerFrom('abcdef').toTokenizerJson())],
  ]);
  return { files, values };
}

describe('Llama-family checkpoints', () => {
  useGpu();

  for (const config of [LLAMA, QWEN2_TIED]) {
    const label = `${config.model_type}${config.tie_word_embeddings ? ', tied head' : ', untied head'}`;

    it(`a save_pretrained folder of HF-named weights imports and gives the reference's logits (${label})`, async () => {
      const seed = rng().seed;
      const { files, values } = hfFolder(config, seed);
      const ckpt = checkpointFromFiles(files);
      expect(ckpt.config).toMatchObject({
        model_type: config.model_type,
        num_key_value_heads: config.num_key_value_heads,
      });
      const model = CausalLM.fromArrays(ckpt.config, ckpt.weights);
      const B = 2;
      const T = 7;
      const tokens = rng(seed + 1).ints(B * T, config.vocab_size);
      const ref = new Map([...values].map(([n, v]) => [n, Float64Array.from(v)]));
      const expected = referenceLlamaLossAndGrads(config, ref, tokens, tokens, B, T);
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
        architectures: [config.model_type === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM'],
        model_type: config.model_type,
        torch_dtype: 'float32',
        hidden_act: 'silu',
        num_key_value_heads: config.num_key_value_heads,
        head_dim: config.head_dim,
        rms_norm_eps: config.rms_norm_eps,
        rope_theta: config.rope_theta,
        tie_word_embeddings: config.tie_word_embeddings,
        vocab_size: config.vocab_size,
      });
      const names = parseSafetensorsHeader(files.get('model.safetensors')!, 'model.safetensors').entries.map(
        (e) => e.name,
      );
      expect(names).toContain('model.embed_tokens.weight');
      expect(names).toContain('model.layers.0.self_attn.q_proj.weight');
      expect(names.includes('lm_head.weight')).toBe(!config.tie_word_embeddings);
      const back = checkpointFromFiles(files);
      expect(back.config).toEqual({ ...config, torch_dtype: 'float32' });
      for (const [n, t] of weights) expect(bitwiseEqual(t, back.weights.get(n)!), n).toBe(true);
    });
  }

  it('a tied head in the file must equal the embedding; an untied one must be there', () => {
    const { files, values } = hfFolder(QWEN2_TIED, 5);
    const emb = values.get('embed_tokens.weight')!;
    const withHead = (data: Float32Array) => {
      const tensors: [string, number[], Float32Array][] = [...values].map(([n, v]) => [
        `model.${n}`,
        parameterShapes(QWEN2_TIED).find(([m]) => m === n)![1],
        v,
      ]);
      tensors.push(['lm_head.weight', [QWEN2_TIED.vocab_size, QWEN2_TIED.hidden_size], data]);
      return new Map([...files, ['model.safetensors', safetensorsFile(tensors)]]);
    };
    expect(() => checkpointFromFiles(withHead(emb.slice()))).not.toThrow();
    const other = emb.map((x) => x + 1);
    expect(() => checkpointFromFiles(withHead(other))).toThrow(/lm_head\.weight differs from embed_tokens\.weight/);
    const untied = hfFolder(LLAMA, 6).files;
    const { values: v2 } = hfFolder(LLAMA, 6);
    const noHead = [...v2]
      .filter(([n]) => n !== 'lm_head.weight')
      .map(
        ([n, v]) =>
          [`model.${n}`, parameterShapes(LLAMA).find(([m]) => m === n)![1], v] as [string, number[], Float32Array],
      );
    untied.set('model.safetensors', safetensorsFile(noHead));
    expect(() => checkpointFromFiles(untied)).toThrow(/missing tensor "lm_head\.weight"/);
  });
});
