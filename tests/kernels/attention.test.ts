import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { causalSelfAttention, defaultBlocks } from '../../src/core/kernels/attention/index.ts';
import { attentionForward, attentionBackward } from '../../src/core/kernels/attention/reference.ts';
import { stockCausalSelfAttention } from '../../src/core/kernels/attention/stock.ts';
import {
  ATTENTION_CASES,
  MASK_CASES,
  PACKED_CASES,
  caseLabel,
  checkAttention,
  checkLogsumexpGradient,
  packedPositions,
} from './attention_cases.ts';

describe('causal self-attention (flash-style)', () => {
  useGpu();

  for (const c of [...ATTENTION_CASES, ...MASK_CASES, ...PACKED_CASES]) {
    it(`output, logsumexp and dqkv match the float64 reference, ${caseLabel(c)}`, () => checkAttention(c, 'f32'));
  }

  it('the public entry point uses the default cut and differentiates like the reference', async () => {
    const [B, T, nHead, hd] = [2, 41, 2, 16]; // hd as in an earlier case: reuses its compiled pipelines
    const C = nHead * hd;
    const shape = { B, T, C, nHead };
    expect(defaultBlocks(hd)).toEqual({ rows: 32, tile: 32 });
    const r = rng();
    const qkvValues = r.normals(B * T * 3 * C);
    const doutValues = r.normals(B * T * C);
    const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
    const dout = tf.tensor3d(doutValues, [B, T, C]);
    const out = causalSelfAttention(qkv, nHead);
    const attend = (x: tf.Tensor) => causalSelfAttention(x as tf.Tensor3D, nHead);
    const first = await tf.grad(attend)(qkv, dout).data();
    const second = await tf.grad(attend)(qkv, dout).data();
    expectClose(await out.data(), attentionForward(qkvValues, shape).out, 1e-4, `seed ${r.seed} out`);
    expectClose(first, attentionBackward(qkvValues, doutValues, shape), 1e-4, `seed ${r.seed} dqkv`);
    // No atomics: the same inputs give bit-identical gradients.
    expect(Array.from(second)).toEqual(Array.from(first));
    tf.dispose([qkv, dout, out]);
  });

  it('the logsumexp output is differentiable too', () => checkLogsumexpGradient());

  it('refuses kv heads that do not divide the query heads, or a qkv of another width, by name', () => {
    const qkv = tf.zeros([1, 2, 5 * 4]) as tf.Tensor3D; // (nHead + 2·nKvHead)·hd for nHead 3, nKvHead 1, hd 4
    expect(() => causalSelfAttention(qkv, 3, undefined, { nKvHead: 2 })).toThrow(/nKvHead = 2 must divide nHead = 3/);
    expect(() => causalSelfAttention(qkv, 2, undefined, { nKvHead: 2 })).toThrow(/is not \(nHead \+ 2·nKvHead\)·hd/);
    qkv.dispose();
  });

  it('refuses packed positions that are not one per token, or not runs counting up from 0', () => {
    const qkv = tf.zeros([2, 3, 3 * 4]) as tf.Tensor3D;
    const attend = (positions: Int32Array) => causalSelfAttention(qkv, 1, undefined, {}, positions);
    expect(() => attend(new Int32Array(5))).toThrow(/expected 6 position ids for 2 rows of 3 tokens, got 5/);
    expect(() => attend(Int32Array.of(0, 1, 2, 1, 2, 3))).toThrow(/position id 1 of token 0 in row 1/);
    expect(() => attend(Int32Array.of(0, 2, 0, 0, 1, 2))).toThrow(/position id 2 of token 1 in row 0/);
    qkv.dispose();
  });

  // Packed rows: [4, 1, 4] and [9] (two layouts), with the window a sequence of 4 reaches past.
  for (const [scores, positions] of [
    [{}, undefined],
    [{ scaled: false, window: 4 }, undefined],
    [{ window: 3 }, packedPositions([[4, 1, 4], [9]])],
  ] as const) {
    const label =
      ('window' in scores ? `${'scaled' in scores ? ', unscaled' : ''}, window ${scores.window}` : '') +
      (positions ? ', packed rows' : '');
    it(`the stock-ops attention (the benchmark baseline) matches the reference too${label}`, async () => {
      const [B, T, nHead, hd] = [2, 9, 3, 4];
      const C = nHead * hd;
      const shape = { B, T, C, nHead, ...scores, positions };
      const r = rng();
      const qkvValues = r.normals(B * T * 3 * C);
      const doutValues = r.normals(B * T * C);
      const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
      const dout = tf.tensor3d(doutValues, [B, T, C]);
      const out = stockCausalSelfAttention(qkv, nHead, undefined, scores, positions);
      const attend = (x: tf.Tensor) => stockCausalSelfAttention(x as tf.Tensor3D, nHead, undefined, scores, positions);
      const dqkv = tf.grad(attend)(qkv, dout);
      expectClose(await out.data(), attentionForward(qkvValues, shape).out, 1e-4, `seed ${r.seed} out`);
      expectClose(await dqkv.data(), attentionBackward(qkvValues, doutValues, shape), 1e-4, `seed ${r.seed} dqkv`);
      tf.dispose([qkv, dout, out, dqkv]);
    });
  }
});
