// The mixed-precision attention (q, k, v and dO read in f16, all arithmetic in f32) against the float64 reference,
// on qkv and dO that are f16 values already. Their casts are then exact and products of f16 values are exact in
// f32, so the kernels' error is that of the f32 kernels: the same 1e-4.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { causalSelfAttention, causalSelfAttentionWithLse } from '../../src/core/kernels/attention/index.ts';
import { attentionForward, attentionBackward } from '../../src/core/kernels/attention/reference.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';
import { ATTENTION_CASES, caseLabel, checkAttention } from './attention_cases.ts';

describe('causal self-attention with f16 operands', () => {
  useGpu();

  // hd = 128 is left to the f32 file: the f16 loads are the same code at every hd.
  for (const c of ATTENTION_CASES.filter((x) => x.hd !== 128)) {
    it(`output, logsumexp and dqkv match the float64 reference, ${caseLabel(c)}`, () => checkAttention(c, 'f16'));
  }

  it('the logsumexp output is differentiable too, and nothing is left behind', async () => {
    const [B, T, nHead, hd] = [1, 11, 2, 5];
    const C = nHead * hd;
    const shape = { B, T, C, nHead };
    const r = rng();
    const qkvValues = roundArrayToHalf(r.normals(B * T * 3 * C));
    const doutValues = roundArrayToHalf(r.normals(B * T * C));
    const dlseValues = r.normals(B * nHead * T); // dlse only enters f32 delta
    const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
    const dout = tf.tensor3d(doutValues, [B, T, C]);
    const dlse = tf.tensor3d(dlseValues, [B, nHead, T]);
    const before = tf.memory().numTensors;
    const dqkv = tf.grad((x: tf.Tensor) => {
      const { out, lse } = causalSelfAttentionWithLse(x as tf.Tensor3D, nHead, { half: true });
      return tf.add(tf.sum(tf.mul(out, dout)), tf.sum(tf.mul(lse, dlse)));
    })(qkv);
    expectClose(
      await dqkv.data(),
      attentionBackward(qkvValues, doutValues, shape, dlseValues),
      1e-4,
      `seed ${r.seed} dqkv`,
    );
    dqkv.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const out = causalSelfAttention(qkv, nHead, undefined, { half: true });
    expectClose(await out.data(), attentionForward(qkvValues, shape).out, 1e-4, `seed ${r.seed} out`);
    tf.dispose([qkv, dout, dlse, out]);
  });
});
