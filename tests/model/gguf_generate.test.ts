// A GGUF export continues a prompt as Hearth does: Hearth's greedy generation on the GPU against the float64 reference
// model run on the weights read back from the F32 file as llama.cpp lays them out (GPT-2), and against a float64
// forward pass run as llama.cpp runs its llama and qwen2 architectures from the file alone (Llama, Qwen2).
import { describe, expect, it } from 'vitest';
import { rng, useGpu } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { generate } from '../../src/core/generate/generate.ts';
import { checkpointToGguf } from '../../src/core/checkpoint/gguf_export.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { makeLlamaConfig } from '../../src/core/model/families/llama_config.ts';
import { CharTokenizer } from '../../src/core/tokenizer/index.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { fileBytes, ggufTensors, greedy, llamaCppGreedy, readBack } from '../unit/gguf_fixtures.ts';

describe('GGUF export and Hearth', () => {
  useGpu();

  it('the F32 file gives the greedy continuation Hearth generates', async () => {
    const tokenizer = new CharTokenizer([...' \nabcdefghijklmnopqrstuvwxyz.,é€']);
    const config = makeGpt2Config({
      vocab_size: tokenizer.vocabSize,
      n_positions: 32,
      n_embd: 32,
      n_layer: 2,
      n_head: 4,
      bos_token_id: tokenizer.eosTokenId,
      eos_token_id: tokenizer.eosTokenId,
    });
    // Fixed weights whose greedy choices are clear (float32 on the GPU and float64 then pick the same token) and vary:
    // layer-norm gains near 1 and small biases, so that no one token wins whatever the context.
    const r = rng(11);
    const weights: NamedTensors = new Map();
    for (const [name, shape] of modelParameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = /ln_\w+\.weight$/.test(name)
        ? r.normals(n, 0.1).map((x) => 1 + x)
        : r.normals(n, name.endsWith('.bias') ? 0.02 : 1.5);
      weights.set(name, { shape, data });
    }
    const prompt = tokenizer.encode('the cat sat on é€');
    const steps = 12;

    const model = CausalLM.fromArrays(config, weights);
    const hearth = await generate(model, tokenizer, prompt, {
      do_sample: false,
      max_new_tokens: steps,
      eos_token_id: null,
    });
    model.dispose();

    const bytes = fileBytes(
      checkpointToGguf({ config, weights, tokenizer: { 'tokenizer.json': tokenizer.toTokenizerJson() } }),
    );
    const fromFile = greedy(config, await readBack(bytes, config), prompt, steps);
    expect(Math.min(...fromFile.margins)).toBeGreaterThan(1e-3);
    expect(new Set(fromFile.ids).size).toBeGreaterThan(2); // a continuation that says something about the weights
    expect(hearth.sequences[0].tokens).toEqual(fromFile.ids);
  });

  for (const modelType of ['llama', 'qwen2'] as const) {
    it(`${modelType}: the F32 file run as llama.cpp runs it gives the greedy continuation Hearth generates`, async () => {
      const tokenizer = new CharTokenizer([...' \nabcdefghijklmnopqrstuvwxyz.,é€']);
      const config = makeLlamaConfig(modelType, {
        vocab_size: tokenizer.vocabSize,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        max_position_embeddings: 32,
        rope_theta: 500,
        tie_word_embeddings: modelType === 'qwen2',
        rope_scaling:
          modelType === 'llama'
            ? {
                rope_type: 'llama3',
                factor: 4,
                low_freq_factor: 1,
                high_freq_factor: 4,
                original_max_position_embeddings: 64,
              }
            : null,
        bos_token_id: tokenizer.eosTokenId,
        eos_token_id: tokenizer.eosTokenId,
      });
      const r = rng(12);
      const weights: NamedTensors = new Map();
      for (const [name, shape] of modelParameterShapes(config)) {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = name.endsWith('norm.weight')
          ? r.normals(n, 0.1).map((x) => 1 + x)
          : r.normals(n, name.endsWith('.bias') ? 0.02 : 0.6);
        weights.set(name, { shape, data });
      }
      const prompt = tokenizer.encode('the cat sat on é€');
      const steps = 10;

      const model = CausalLM.fromArrays(config, weights);
      const hearth = await generate(model, tokenizer, prompt, {
        do_sample: false,
        max_new_tokens: steps,
        eos_token_id: null,
      });
      model.dispose();

      const file = checkpointToGguf({ config, weights, tokenizer: { 'tokenizer.json': tokenizer.toTokenizerJson() } });
      const { metadata, tensors } = await ggufTensors(fileBytes(file));
      const fromFile = llamaCppGreedy(metadata, tensors, prompt, steps);
      expect(Math.min(...fromFile.margins)).toBeGreaterThan(1e-3);
      expect(new Set(fromFile.ids).size).toBeGreaterThan(2);
      expect(hearth.sequences[0].tokens).toEqual(fromFile.ids);
    });
  }
});
