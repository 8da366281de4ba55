import { describe, it, expect } from 'vitest';
import { useGpu, tf } from '../helpers.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { AdamW } from '../../src/core/train/optimizer.ts';
import { repeatingSequence } from './models.ts';

describe('training step (forward, backward, AdamW) on our kernels', () => {
  useGpu();

  it('learns a repeating sequence to a loss under 0.1', async () => {
    const { dims, B, T, tokens, targets } = repeatingSequence();
    const model = CausalLM.init(dims, 42);
    const opt = new AdamW(model.params, { weightDecay: 0.01, maxGradNorm: 1 });
    let first = NaN;
    let last = NaN;
    for (let step = 0; step < 300; step++) {
      const { loss, grads } = model.lossAndGrads(tokens, targets, B, T);
      const norm = opt.apply(grads, 1e-2);
      if (step === 0) first = (await loss.data())[0];
      if (step % 25 === 24 || step === 299) {
        last = (await loss.data())[0];
        if (last < 0.1) {
          tf.dispose([loss, norm, ...grads.values()]);
          break;
        }
      }
      tf.dispose([loss, norm, ...grads.values()]);
    }
    expect(first).toBeGreaterThan(1.5);
    expect(last, `loss went from ${first} to ${last}`).toBeLessThan(0.1);
    opt.dispose();
    model.dispose();
  });
});
