// Attention dropout inside the flash kernels (f32 and f16 operands) and in the stock-ops attention, against the float64
// reference with the same hashed masks: out, the (undropped) logsumexp and dqkv, with p in {0, 0.1, 0.5}.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { causalSelfAttention, causalSelfAttentionWithLse, type AttentionBlocks, type AttentionDropout } from '../../src/core/kernels/attention/index.ts';
import { causalSelfAttentionHalfWithLse } from '../../src/core/kernels/attention/half.ts';
import { attentionForward, attentionBackward } from '../../src/core/kernels/attention/reference.ts';
import { stockCausalSelfAttention } from '../../src/core/kernels/attention/stock.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';

interface Case {
  B: number;
  T: number;
  nHead: number;
  hd: number;
  blocks?: AttentionBlocks;
}

// T = 1; T off the key tile (32 for hd ≤ 32, 16 for hd = 64); odd hd; a non-default cut. Sizes as in
// attention.test.ts, so the p = 0 variants reuse its pipelines when both files run in one process.
const CASES: Case[] = [
  { B: 1, T: 1, nHead: 1, hd: 8 },
  { B: 2, T: 7, nHead: 3, hd: 5 },
  { B: 2, T: 33, nHead: 2, hd: 16 },
  { B: 1, T: 70, nHead: 2, hd: 64 },
  { B: 2, T: 13, nHead: 2, hd: 7, blocks: { rows: 4, tile: 3 } },
];

const label = ({ B, T, nHead, hd, blocks }: Case) =>
  `B=${B} T=${T} nHead=${nHead} hd=${hd}` + (blocks ? ` rows=${blocks.rows} tile=${blocks.tile}` : '');

type Variant = 'f32' | 'f16';

async function check(c: Case, p: number, variant: Variant): Promise<void> {
  const { B, T, nHead, hd } = c;
  const C = nHead * hd;
  const shape = { B, T, C, nHead };
  const r = rng();
  const dropout: AttentionDropout = { p, seed: r.ints(1, 0x7fffffff)[0] };
  const round = variant === 'f16' ? roundArrayToHalf : (a: Float32Array) => a;
  const qkvValues = round(r.normals(B * T * 3 * C, 1.5));
  const doutValues = round(r.normals(B * T * C));
  const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
  const dout = tf.tensor3d(doutValues, [B, T, C]);
  const op = variant === 'f16' ? causalSelfAttentionHalfWithLse : causalSelfAttentionWithLse;
  const { out, lse } = op(qkv, nHead, c.blocks, dropout);
  const dqkv = tf.grad((x: tf.Tensor) => op(x as tf.Tensor3D, nHead, c.blocks, dropout).out)(qkv, dout);
  const ref = attentionForward(qkvValues, shape, dropout);
  const what = `seed ${r.seed} mask seed ${dropout.seed}`;
  expectClose(await out.data(), ref.out, 1e-4, `${what} out`);
  expectClose(await lse.data(), ref.lse, 1e-4, `${what} lse`);
  expectClose(await dqkv.data(), attentionBackward(qkvValues, doutValues, shape, undefined, dropout), 1e-4, `${what} dqkv`);
  tf.dispose([qkv, dout, out, lse, dqkv]);
}

describe('causal self-attention with attention dropout', () => {
  useGpu();

  for (const p of [0, 0.1, 0.5]) {
    for (const c of CASES) {
      it(`f32: out, logsumexp and dqkv match the float64 reference, p=${p} ${label(c)}`, () => check(c, p, 'f32'));
    }
  }
  for (const p of [0.1, 0.5]) {
    for (const c of [CASES[1], CASES[3], CASES[4]]) {
      it(`f16 operands: out, logsumexp and dqkv match the float64 reference, p=${p} ${label(c)}`, () => check(c, p, 'f16'));
    }
  }

  it('the logsumexp output stays differentiable with dropout on', async () => {
    const [B, T, nHead, hd] = [1, 11, 2, 5];
    const C = nHead * hd;
    const shape = { B, T, C, nHead };
    const r = rng();
    const dropout = { p: 0.5, seed: 99 };
    const qkvValues = r.normals(B * T * 3 * C);
    const doutValues = r.normals(B * T * C);
    const dlseValues = r.normals(B * nHead * T);
    const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
    const dout = tf.tensor3d(doutValues, [B, T, C]);
    const dlse = tf.tensor3d(dlseValues, [B, nHead, T]);
    const dqkv = tf.grad((x: tf.Tensor) => {
      const { out, lse } = causalSelfAttentionWithLse(x as tf.Tensor3D, nHead, undefined, dropout);
      return tf.add(tf.sum(tf.mul(out, dout)), tf.sum(tf.mul(lse, dlse)));
    })(qkv);
    expectClose(await dqkv.data(), attentionBackward(qkvValues, doutValues, shape, dlseValues, dropout), 1e-4, `seed ${r.seed} dqkv`);
    tf.dispose([qkv, dout, dlse, dqkv]);
  });

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
    expectClose(await dqkv.data(), attentionBackward(qkvValues, doutValues, shape, undefined, dropout), 1e-4, `seed ${r.seed} dqkv`);
    const kernelOut = causalSelfAttention(qkv, nHead, dropout);
    expectClose(await kernelOut.data(), await out.data(), 1e-4, 'stock vs kernel');
    const other = causalSelfAttention(qkv, nHead, { ...dropout, seed: dropout.seed + 1 });
    const plain = causalSelfAttention(qkv, nHead);
    const differs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).some((x, i) => Math.abs(x - b[i]) > 1e-3);
    expect(differs(await other.data(), await out.data())).toBe(true);
    expect(differs(await plain.data(), await out.data())).toBe(true);
    tf.dispose([qkv, dout, out, dqkv, kernelOut, other, plain]);
  });
});
