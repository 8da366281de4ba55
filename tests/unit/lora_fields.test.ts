// The page's LoRA fields: read from their text as PEFT's LoraConfig, each field's own problem named, and a config
// the model cannot take refused with the core's message, as the run would refuse it.
import { describe, expect, it } from 'vitest';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { makeLlamaConfig } from '../../src/core/model/families/llama_config.ts';
import { defaultLoraText, linearModulesOf, parseLora } from '../../src/ui/lora_fields.ts';

const gpt2 = makeGpt2Config({ vocab_size: 50, n_positions: 16, n_embd: 12, n_layer: 2, n_head: 2 });

describe('LoRA fields', () => {
  it("reads PEFT's defaults and a config that fits, with its memory terms", () => {
    const text = { ...defaultLoraText(), r: '4', lora_alpha: '16', target_modules: 'c_attn, c_proj', use_rslora: true };
    const p = parseLora(text, gpt2);
    expect(p.problems.size).toBe(0);
    expect(p.modelProblem).toBeNull();
    expect(p.config).toMatchObject({ r: 4, lora_alpha: 16, target_modules: ['c_attn', 'c_proj'], use_rslora: true });
    // c_attn 12→36 and the two c_proj (12→12, 48→12) per block, r·(in+out) each
    expect(p.terms!.parameters).toBe(2 * 4 * (12 + 36 + 12 + 12 + 48 + 12));
    expect(parseLora({ ...defaultLoraText(), target_modules: 'ALL-LINEAR' }, gpt2).config!.target_modules).toBe(
      'all-linear',
    );
    expect(parseLora(defaultLoraText(), gpt2).config!.target_modules).toBeNull();
  });

  it("names each field's problem, and the model's refusal in the core's words", () => {
    const p = parseLora(
      { ...defaultLoraText(), r: '2.5', lora_dropout: '1', lora_alpha: 'x', target_modules: 'a,,b' },
      gpt2,
    );
    expect(Object.fromEntries(p.problems)).toEqual({
      r: 'must be a whole number above 0',
      lora_alpha: 'must be a number',
      lora_dropout: 'must be from 0 up to (not including) 1',
      target_modules: 'takes module names separated by commas, or all-linear',
    });
    expect(p.config).toBeNull();
    const none = parseLora({ ...defaultLoraText(), target_modules: 'q_proj' }, gpt2);
    expect(none.config).toBeNull();
    expect(none.modelProblem).toBe(
      'LoRA target_modules [q_proj] match no linear layer of this GPT-2 model; its linear layers are c_attn, c_proj, c_fc (e.g. transformer.h.0.attn.c_attn)',
    );
    const wide = parseLora({ ...defaultLoraText(), r: '13' }, gpt2);
    expect(wide.modelProblem).toBe(
      'LoRA r 13 exceeds the sides of transformer.h.0.attn.c_attn (12 in, 36 out): r must be at most 12',
    );
  });

  it("lists the model's linear modules and PEFT's default targets for it", () => {
    expect(linearModulesOf(gpt2)).toEqual({ names: ['c_attn', 'c_proj', 'c_fc'], defaults: 'c_attn' });
    const llama = makeLlamaConfig('llama', {
      vocab_size: 50,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 16,
    });
    expect(linearModulesOf(llama)).toEqual({
      names: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      defaults: 'q_proj, v_proj',
    });
  });
});
