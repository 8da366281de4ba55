// Checkpoints with the real model: an export then import gives identical weights and identical logits, and a
// PyTorch-style Hugging Face checkpoint (transformer. prefix, attention mask buffers, tied lm_head) runs.
import { describe, it, expect } from 'vitest';
import { useGpu, rng } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { checkpointToZip, checkpointFromZip } from '../../src/core/checkpoint/archive.ts';
import { checkpointFromFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { writeSafetensors } from '../../src/core/checkpoint/safetensors.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import { concatBytes } from '../../src/core/util/bytes.ts';

const config = makeGpt2Config({ vocab_size: 23, n_positions: 16, n_embd: 12, n_layer: 2, n_head: 3 });

describe('checkpoints and the model', () => {
  useGpu();

  it('export then import gives identical weights and identical logits', async () => {
    const model = CausalLM.init(config, rng().seed);
    const weights = await model.toArrays();
    const tokenizer = charTokenizerFrom('abcdefghij');
    const zip = concatBytes(
      checkpointToZip({ config, weights, tokenizer: { 'tokenizer.json': tokenizer.toTokenizerJson() } }, 'my model'),
    );
    const back = checkpointFromZip(zip);
    for (const [n, t] of weights) expect(bitwiseEqual(t, back.weights.get(n)!), n).toBe(true);
    const again = CausalLM.fromArrays(back.config, back.weights);
    const tokens = rng().ints(2 * 7, config.vocab_size);
    const a = await model.forward(tokens, 2, 7).data();
    const b = await again.forward(tokens, 2, 7).data();
    expect(Array.from(b)).toEqual(Array.from(a));
    model.dispose();
    again.dispose();
  });

  it('imports a PyTorch-style checkpoint (transformer. prefix, mask buffers, lm_head) and runs it', async () => {
    const model = CausalLM.init(config, 9);
    const weights = await model.toArrays();
    const entries: [string, { shape: number[]; data: Float32Array }][] = [];
    for (const [n, t] of weights) entries.push([`transformer.${n}`, t]);
    for (let i = 0; i < config.n_layer; i++) {
      const T = config.n_positions;
      const mask = new Float32Array(T * T).map((_, k) => (k % T <= Math.floor(k / T) ? 1 : 0));
      entries.push([`transformer.h.${i}.attn.bias`, { shape: [1, 1, T, T], data: mask }]);
      entries.push([`transformer.h.${i}.attn.masked_bias`, { shape: [], data: new Float32Array([-1e4]) }]);
    }
    entries.push(['lm_head.weight', weights.get('wte.weight')!]);
    const enc = new TextEncoder();
    const files = new Map<string, Uint8Array>([
      ['config.json', enc.encode(JSON.stringify({ ...config, n_ctx: config.n_positions }))],
      ['model.safetensors', writeSafetensors(entries, { dtype: 'F32', metadata: { format: 'pt' } })],
      ['tokenizer.json', enc.encode(charTokenizerFrom('abc').toTokenizerJson())],
    ]);
    const ckpt = checkpointFromFiles(files);
    const imported = CausalLM.fromArrays(ckpt.config, ckpt.weights);
    const tokens = rng().ints(5, config.vocab_size);
    const a = await model.forward(tokens, 1, 5).data();
    const b = await imported.forward(tokens, 1, 5).data();
    expect(Array.from(b)).toEqual(Array.from(a));
    model.dispose();
    imported.dispose();
  });
});
