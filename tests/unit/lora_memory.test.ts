// The training-memory estimate with a LoRA adapter: the frozen model keeps its weights, while gradients and AdamW's
// state shrink to the adapter's; the adapted layers' extra activations are counted.
import { describe, expect, it } from 'vitest';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { familyOf } from '../../src/core/model/families/index.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { DEFAULT_LORA_CONFIG, loraMemoryTerms, loraScale } from '../../src/core/model/lora/config.ts';
import { QWEN2_5_0_5B, qwenLoraEstimates } from '../../bench/memory.ts';
import { parameterCount } from '../../src/core/model/families/index.ts';

describe('LoRA training memory', () => {
  it("counts the adapter's gradients and moments instead of the model's", () => {
    const d = makeGpt2Config({ vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 });
    const config = { ...DEFAULT_LORA_CONFIG, r: 8, lora_alpha: 16, target_modules: ['c_attn'] };
    const terms = loraMemoryTerms(familyOf(d), d, config);
    expect(terms.parameters).toBe(12 * 8 * (768 + 3 * 768)); // 294912, as PEFT's print_trainable_parameters
    expect(terms.perRow).toBe(8); // the fused op's (M, r) down product per adapted layer
    expect(terms.largest).toBe(8 * 3 * 768);
    expect(terms.halfBase).toBe(0);
    for (const checkpoint of [false, true]) {
      const full = estimateTrainingMemory(d, 4, 256, { checkpoint });
      const lora = estimateTrainingMemory(d, 4, 256, { checkpoint, lora: terms });
      expect(lora.weights).toBe(full.weights + 4 * terms.parameters);
      expect(lora.optimizer).toBe(full.optimizer * (terms.parameters / full.parameters));
      // at the peak, at most the adapter's own gradients (the freeing backward's peak may come before any)
      expect(lora.gradients).toBeLessThanOrEqual(4 * terms.parameters);
      expect(lora.total).toBeLessThan(full.total);
    }
    expect(loraScale(config)).toBe(2);
    expect(loraScale({ ...config, use_rslora: true })).toBeCloseTo(16 / Math.sqrt(8), 12);
  });

  it('fits Qwen2.5-0.5B with LoRA r 8 on the attention projections and an f16 base in under 4 GiB', () => {
    const { terms, lora, full } = qwenLoraEstimates();
    const C = 896;
    const kv = 128; // 2 key/value heads of 64
    const I = 4864;
    // every block's linear weights in f16: q, o (C × C), k, v (kv × C), gate, up, down (I × C)
    expect(terms.halfBase).toBe(24 * (2 * C * C + 2 * kv * C + 3 * I * C));
    expect(terms.parameters).toBe(24 * 8 * (2 * (C + C) + 2 * (C + kv)));
    const P = parameterCount(QWEN2_5_0_5B);
    expect(lora.weights).toBe(4 * (P - terms.halfBase + terms.parameters) + 2 * terms.halfBase);
    console.log(
      `Qwen2.5-0.5B (${(P / 1e6).toFixed(0)} M parameters), batch 4 × block 256, checkpointing: LoRA r 8 with an ` +
        `f16 base ${(lora.total / 2 ** 30).toFixed(2)} GiB, full fine-tuning ${(full.total / 2 ** 30).toFixed(2)} GiB`,
    );
    expect(lora.total).toBeLessThan(4 * 2 ** 30);
    expect(full.total).toBeGreaterThan(2 * lora.total);
  });
});
