// GPT-Neo checkpoints as Hugging Face folders: a folder written the way transformers saves a GPTNeoForCausalLM (the
// tests' own safetensors writer, not Hearth's; "transformer." names, the tied lm_head left out, the attention's mask
// buffers that older files hold) imports and gives the float64 reference's logits; Hearth's export carries HF's
// names and config.json and imports back bit for bit; weights of the wrong shape are refused by name.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import { hfSafetensors, rawTensor, type RawTensor } from '../unit/hf_fixtures.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { parameterShapes } from '../../src/core/model/families/index.ts';
import { makeGptNeoConfig, type GptNeoConfig } from '../../src/core/model/families/gpt_neo_config.ts';
import { referenceGptNeoLossAndGrads } from '../../src/core/model/reference/gpt_neo.ts';
import { checkpointFromFiles, checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { parseSafetensorsHeader } from '../../src/core/checkpoint/safetensors.ts';
import { checkpointToGguf } from '../../src/core/checkpoint/gguf_export.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';

const enc = new TextEncoder();

const CONFIG = makeGptNeoConfig({
  vocab_size: 29,
  max_position_embeddings: 16,
  hidden_size: 12,
  num_layers: 2,
  num_heads: 3,
  attention_types: [[['global', 'local'], 1]],
  window_size: 3,
  intermediate_size: 19,
  bos_token_id: 0,
  eos_token_id: 0,
});

/** config.json as transformers 4.4x writes a GPTNeoConfig (every key, attention_layers included). */
function hfConfigJson(c: GptNeoConfig): string {
  return JSON.stringify({
    activation_function: 'gelu_new',
    architectures: ['GPTNeoForCausalLM'],
    attention_dropout: 0,
    attention_layers: c.attention_layers,
    attention_types: c.attention_types,
    bos_token_id: c.bos_token_id,
    classifier_dropout: 0.1,
    embed_dropout: 0,
    eos_token_id: c.eos_token_id,
    hidden_size: c.hidden_size,
    initializer_range: 0.02,
    intermediate_size: c.intermediate_size,
    layer_norm_epsilon: 1e-5,
    max_position_embeddings: c.max_position_embeddings,
    model_type: 'gpt_neo',
    num_heads: c.num_heads,
    num_layers: c.num_layers,
    resid_dropout: 0,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: 'cls_index',
    summary_use_proj: true,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
    vocab_size: c.vocab_size,
    window_size: c.window_size,
  });
}

/**
 * A save_pretrained folder of random weights: "transformer." names, no lm_head (tied), and each attention's mask
 * buffers as EleutherAI's files hold them (bias BOOL (1, 1, P, P), a local layer's banded; masked_bias F32). `shapeOf`
 * may give a tensor another shape.
 */
function hfFolder(c: GptNeoConfig, seed: number, shapeOf = (_: string, s: number[]) => s) {
  const r = rng(seed);
  const values = new Map<string, Float32Array>();
  const tensors = new Map<string, RawTensor>();
  for (const [name, shape] of parameterShapes(c)) {
    const data = r.normals(
      shape.reduce((a, b) => a * b, 1),
      0.3,
    );
    if (/ln_(\d|f)\.weight$/.test(name)) for (let i = 0; i < data.length; i++) data[i] += 1;
    values.set(name, data);
    tensors.set(`transformer.${name}`, rawTensor(data, shapeOf(name, shape), 'F32'));
  }
  const P = c.max_position_embeddings;
  c.attention_layers.forEach((type, l) => {
    const mask = new Uint8Array(P * P);
    for (let i = 0; i < P; i++)
      for (let j = 0; j <= i; j++) mask[i * P + j] = type === 'global' || i - j < c.window_size ? 1 : 0;
    tensors.set(`transformer.h.${l}.attn.attention.bias`, { dtype: 'BOOL', shape: [1, 1, P, P], bytes: mask });
    const masked = rawTensor(new Float32Array([-1e9]), [], 'F32');
    tensors.set(`transformer.h.${l}.attn.attention.masked_bias`, masked);
  });
  const files = new Map<string, Uint8Array>([
    ['config.json', enc.encode(hfConfigJson(c))],
    ['model.safetensors', hfSafetensors(tensors)],
    ['tokenizer.json', enc.encode(charTokenizerFrom('abcdef').toTokenizerJson())],
  ]);
  return { files, values };
}

describe('GPT-Neo checkpoints', () => {
  useGpu();

  it("a folder saved as transformers saves GPTNeoForCausalLM imports and gives the reference's logits", async () => {
    const seed = rng().seed;
    const { files, values } = hfFolder(CONFIG, seed);
    const ckpt = checkpointFromFiles(files);
    expect(ckpt.config).toMatchObject({ model_type: 'gpt_neo', attention_layers: ['global', 'local'], window_size: 3 });
    const model = CausalLM.fromArrays(ckpt.config, ckpt.weights);
    const B = 2;
    const T = 11; // past the local layer's window
    const tokens = rng(seed + 1).ints(B * T, CONFIG.vocab_size);
    const ref = new Map([...values].map(([n, v]) => [n, Float64Array.from(v)]));
    const expected = referenceGptNeoLossAndGrads(CONFIG, ref, tokens, tokens, B, T);
    const logits = model.forward(tokens, B, T);
    expect(relError(await logits.data(), expected.logits), `seed ${seed}`).toBeLessThan(1e-4);
    tf.dispose(logits);
    model.dispose();
  });

  it("export carries HF's names and config.json, and imports back bit for bit", async () => {
    const model = CausalLM.init(CONFIG, rng().seed);
    const weights = await model.toArrays();
    model.dispose();
    const tokenizer = { 'tokenizer.json': charTokenizerFrom('abcdef').toTokenizerJson() };
    const files = checkpointToFiles({ config: CONFIG, weights, tokenizer });
    const written = JSON.parse(new TextDecoder().decode(files.get('config.json')));
    expect(written).toMatchObject({
      architectures: ['GPTNeoForCausalLM'],
      model_type: 'gpt_neo',
      torch_dtype: 'float32',
      attention_types: [[['global', 'local'], 1]],
      attention_layers: ['global', 'local'],
      window_size: 3,
      num_layers: 2,
      num_heads: 3,
      intermediate_size: 19,
      activation_function: 'gelu_new',
    });
    const names = parseSafetensorsHeader(files.get('model.safetensors')!, 'model.safetensors').entries.map(
      (e) => e.name,
    );
    expect(names).toContain('transformer.wte.weight');
    expect(names).toContain('transformer.h.1.attn.attention.q_proj.weight');
    expect(names).toContain('transformer.h.1.attn.attention.out_proj.bias');
    expect(names).not.toContain('transformer.h.1.attn.attention.q_proj.bias');
    expect(names).not.toContain('lm_head.weight');
    const back = checkpointFromFiles(files);
    expect(back.config).toEqual({ ...CONFIG, torch_dtype: 'float32' });
    for (const [n, t] of weights) expect(bitwiseEqual(t, back.weights.get(n)!), n).toBe(true);
  });

  it('GGUF export refuses GPT-Neo by name (llama.cpp has no layout of it in Hearth)', async () => {
    const model = CausalLM.init(CONFIG, 3);
    const weights = await model.toArrays();
    model.dispose();
    const tokenizer = { 'tokenizer.json': charTokenizerFrom('abcdef').toTokenizerJson() };
    expect(() => checkpointToGguf({ config: CONFIG, weights, tokenizer })).toThrow(
      /cannot export GGUF: model_type "gpt_neo" has no GGUF layout/,
    );
  });

  it('a weight whose shape config.json does not imply is refused with its name and both shapes', () => {
    const transposed = (name: string, s: number[]) => (name === 'h.1.mlp.c_fc.weight' ? [s[1], s[0]] : s);
    const { files } = hfFolder(CONFIG, 7, transposed);
    expect(() => checkpointFromFiles(files)).toThrow(
      /tensor "transformer\.h\.1\.mlp\.c_fc\.weight" has shape \(12, 19\) but config\.json implies \(19, 12\)/,
    );
  });
});
