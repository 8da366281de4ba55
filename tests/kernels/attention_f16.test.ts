// The mixed-precision attention (q, k, v and dO read in f16, all arithmetic in f32) against the float64 reference,
// on qkv and dO that are f16 values already. Their casts are then exact and products of f16 values are exact in
// f32, so the kernels' error is that of the f32 kernels: the same 1e-4.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { causalSelfAttentionHalf, causalSelfAttentionHalfWithLse } from '../../src/core/kernels/attention/half.ts';
import type { AttentionBlocks } from '../../src/core/kernels/attention/index.ts';
import { attentionForward, attentionBackward } from '../../src/core/kernels/attention/reference.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';

interface Case {
  B: number;
  T: number;
  nHead: number;
  hd: number;
  blocks?: AttentionBlocks;
}

// As attention.test.ts: T = 1, T off every tile, odd hd (scalar loads that straddle words), hd a multiple of 4
// (two-word loads), and non-default cuts.
const CASES: Case[] = [
  { B: 1, T: 1, nHead: 1, hd: 8 },
  { B: 2, T: 7, nHead: 3, hd: 5 },
  { B: 2, T: 33, nHead: 2, hd: 16 },
  { B: 1, T: 70, nHead: 2, hd: 64 },
  { B: 2, T: 13, nHead: 2, hd: 7, blocks: { rows: 4, tile: 3 } },
  { B: 1, T: 37, nHead: 3, hd: 9, blocks: { rows: 8, tile: 16 } },
];

const label = ({ B, T, nHead, hd, blocks }: Case) =>
  `B=${B} T=${T} nHead=${nHead} hd=${hd}` + (blocks ? ` rows=${blocks.rows} tile=${blocks.tile}` : '');

describe('causal self-attention with f16 operands', () => {
  useGpu();

  for (const c of CASES) {
    it(`output, logsumexp and dqkv match the float64 reference, ${label(c)}`, async () => {
      const { B, T, nHead, hd } = c;
      const C = nHead * hd;
      const shape = { B, T, C, nHead };
      const r = rng();
      const qkvValues = roundArrayToHalf(r.normals(B * T * 3 * C, 1.5));
      const doutValues = roundArrayToHalf(r.normals(B * T * C));
      const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
      const dout = tf.tensor3d(doutValues, [B, T, C]);

      const { out, lse } = causalSelfAttentionHalfWithLse(qkv, nHead, c.blocks);
      const attend = (x: tf.Tensor) => causalSelfAttentionHalfWithLse(x as tf.Tensor3D, nHead, c.blocks).out;
      const dqkv = tf.grad(attend)(qkv, dout);

      const ref = attentionForward(qkvValues, shape);
      expectClose(await out.data(), ref.out, 1e-4, `seed ${r.seed} out`);
      expectClose(await lse.data(), ref.lse, 1e-4, `seed ${r.seed} lse`);
      expectClose(await dqkv.data(), attentionBackward(qkvValues, doutValues, shape), 1e-4, `seed ${r.seed} dqkv`);
      tf.dispose([qkv, dout, out, lse, dqkv]);
    });
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
      const { out, lse } = causalSelfAttentionHalfWithLse(x as tf.Tensor3D, nHead);
      return tf.add(tf.sum(tf.mul(out, dout)), tf.sum(tf.mul(lse, dlse)));
    })(qkv);
    expectClose(await dqkv.data(), attentionBackward(qkvValues, doutValues, shape, dlseValues), 1e-4, `seed ${r.seed} dqkv`);
    dqkv.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const out = causalSelfAttentionHalf(qkv, nHead);
    expectClose(await out.data(), attentionForward(qkvValues, shape).out, 1e-4, `seed ${r.seed} out`);
    tf.dispose([qkv, dout, dlse, out]);
  });
});
