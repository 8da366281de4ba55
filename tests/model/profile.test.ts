import { describe, it, expect } from 'vitest';
import { useGpu } from '../helpers.ts';
import { profileStep } from '../../bench/profile.ts';

describe('train-step profile (npm run bench -- --profile)', () => {
  const gpu = useGpu();

  it("lists tfjs's kernels and ours by name, with GPU times where the adapter has timestamp-query", async () => {
    const tiny = {
      label: 'tiny',
      dims: { vocab_size: 13, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, layer_norm_epsilon: 1e-5 },
      B: 2,
      T: 5,
    };
    const p = await profileStep(tiny);
    const row = (op: string, program: string) => p.rows.find((r) => r.op === op && r.program === program);
    // Ours: the forward and backward products, the fused residual add + LayerNorm, the one-dispatch AdamW.
    expect(row('HearthMatmul', 'matmul')?.calls).toBeGreaterThan(0);
    expect(row('HearthAddLayerNorm', 'layernorm')?.calls).toBe(1);
    expect(row('HearthAdamWMultiTensor', 'adamw_multi_tensor')?.calls).toBe(1);
    // tfjs's own: the block's residual add.
    expect(row('Add', 'BinaryOpProgram')?.calls).toBeGreaterThan(0);
    expect(p.dispatches).toBe(p.rows.filter((r) => r.program !== '(no dispatch)').reduce((n, r) => n + r.calls, 0));
    // Timestamps may be quantised (Dawn rounds them to tens of microseconds), so only the step's sum must show.
    if (gpu().features.timestampQuery) expect(p.rows.reduce((s, r) => s + r.ms, 0)).toBeGreaterThan(0);
  });
});
