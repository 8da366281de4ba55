// Attention dropout inside the flash kernels (f32 and f16 operands) and in the stock-ops attention, against the float64
// reference with the same hashed masks: out, the (undropped) logsumexp and dqkv, with p in {0, 0.1, 0.5}.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { causalSelfAttention } from '../../src/core/kernels/attention/index.ts';
import { attentionForward, attentionBackward } from '../../src/core/kernels/attention/reference.ts';
import { stockCausalSelfAttention } from '../../src/core/kernels/attention/stock.ts';
import {
  ATTENTION_CASES,
  GQA_CASES,
  MASK_CASES,
  PACKED_CASES,
  caseLabel,
  checkAttention,
  checkLogsumexpGradient,
} from './attention_cases.ts';

// Every case but hd = 128 (the same dropout code at every hd) and the last non-default cut, to keep the file short,
// one grouped-query case (a kv head's gradient summing its group's dropped probabilities), one unscaled windowed, and
// two of packed rows (the mask hashed by the score's place in the row, whatever the sequences).
const CASES = [
  ...ATTENTION_CASES.filter((c) => c.hd !== 128).slice(0, 5),
  GQA_CASES[1],
  MASK_CASES[3],
  PACKED_CASES[0],
  PACKED_CASES[4],
];

describe('causal self-attention with attention dropout', () => {
  useGpu();

  for (const p of [0, 0.1, 0.5]) {
    for (const c of CASES) {
      it(`f32: out, logsumexp and dqkv match the float64 reference, p=${p} ${caseLabel(c)}`, () =>
        checkAttention(c, 'f32', p));
    }
  }
  for (const p of [0.1, 0.5]) {
    for (const c of [CASES[1], CASES[3], CASES[4], PACKED_CASES[1]]) {
      it(`f16 operands: out, logsumexp and dqkv match the float64 reference, p=${p} ${caseLabel(c)}`, () =>
        checkAttention(c, 'f16', p));
    }
  }

  it('the logsumexp output stays differentiable with dropout on', () =>
    checkLogsumexpGradient({ dropout: { p: 0.5, seed: 99 } }));

  it('the stock-ops attention applies the same masks; another seed gives another output', async () => {
    const [B, T, nHead, hd] = [2, 9, 3, 4];
    const C = nHead * hd;
    const shape = { B, T, C, nHead };
    const r = rng();
    const dropout = { p: 0.5, seed: r.ints(1, 0x7fffffff)[0] };
    const qkvValues = r.normals(B * T * 3 * C);
    const doutValues = r.normals(B * T * C);
    const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
    const dout = tf.tensor3d(doutValues, [B, T, C]);
    const out = stockCausalSelfAttention(qkv, nHead, dropout);
    const dqkv = tf.grad((x: tf.Tensor) => stockCausalSelfAttention(x as tf.Tensor3D, nHead, dropout))(qkv, dout);
    expectClose(await out.data(), attentionForward(qkvValues, shape, dropout).out, 1e-4, `seed ${r.seed} out`);
    expectClose(
      await dqkv.data(),
      attentionBackward(qkvValues, doutValues, shape, undefined, dropout),
      1e-4,
      `seed ${r.seed} dqkv`,
    );
    const kernelOut = causalSelfAttention(qkv, nHead, dropout);
    expectClose(await kernelOut.data(), await out.data(), 1e-4, 'stock vs kernel');
    const other = causalSelfAttention(qkv, nHead, { ...dropout, seed: dropout.seed + 1 });
    const plain = causalSelfAttention(qkv, nHead);
    const differs = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Array.from(a).some((x, i) => Math.abs(x - b[i]) > 1e-3);
    expect(differs(await other.data(), await out.data())).toBe(true);
    expect(differs(await plain.data(), await out.data())).toBe(true);
    tf.dispose([qkv, dout, out, dqkv, kernelOut, other, plain]);
  });
});
