// The cases and the check that the attention kernel tests share (f32 operands, f16 operands, attention dropout):
// out, the logsumexp and dqkv against the float64 reference on fresh random qkv and dO.
import { expect } from 'vitest';
import { expectClose, rng, tf } from '../helpers.ts';
import {
  causalSelfAttentionWithLse,
  type AttentionBlocks,
  type AttentionDropout,
} from '../../src/core/kernels/attention/index.ts';
import { attentionForward, attentionBackward } from '../../src/core/kernels/attention/reference.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';

export interface AttentionCase {
  B: number;
  T: number;
  nHead: number;
  /** grouped-query attention's kv heads; nHead when not given */
  nKvHead?: number;
  hd: number;
  blocks?: AttentionBlocks;
  /** false: scores without the 1/√hd (GPT-Neo) */
  scaled?: boolean;
  /** a local window (GPT-Neo's local layers, Mistral's sliding_window) */
  window?: number;
  /** packed rows (TRL's padding-free packing): the lengths of each row's sequences, summing to T */
  sequences?: number[][];
}

/** Each token's position within its sequence (B·T), for rows packed with sequences of these lengths. */
export function packedPositions(sequences: number[][]): Int32Array {
  return Int32Array.from(sequences.flatMap((row) => row.flatMap((n) => Array.from({ length: n }, (_, k) => k))));
}

// Grouped-query attention: groups of 2 and 3, and one kv head for all (multi-query), on odd sizes and cuts.
export const GQA_CASES: AttentionCase[] = [
  { B: 2, T: 33, nHead: 4, nKvHead: 2, hd: 16 },
  { B: 1, T: 37, nHead: 6, nKvHead: 2, hd: 9, blocks: { rows: 8, tile: 16 } },
  { B: 2, T: 13, nHead: 3, nKvHead: 1, hd: 7, blocks: { rows: 4, tile: 3 } },
];

// T = 1; T not a multiple of the key tile (32 for hd ≤ 32, 16 for hd = 64, 8 for hd = 128); odd hd (f16: scalar
// loads that straddle words; hd a multiple of 4: two-word loads); non-default cuts, tiles smaller and larger than the
// row blocks, neither dividing T. The same sizes in every file, so a file reuses pipelines another compiled.
export const ATTENTION_CASES: AttentionCase[] = [
  { B: 1, T: 1, nHead: 1, hd: 8 },
  { B: 2, T: 7, nHead: 3, hd: 5 },
  { B: 2, T: 33, nHead: 2, hd: 16 },
  { B: 1, T: 70, nHead: 2, hd: 64 },
  { B: 1, T: 19, nHead: 1, hd: 128 },
  { B: 2, T: 13, nHead: 2, hd: 7, blocks: { rows: 4, tile: 3 } },
  { B: 1, T: 37, nHead: 3, hd: 9, blocks: { rows: 8, tile: 16 } },
  ...GQA_CASES,
];

// Unscaled scores and local windows: a window inside one key tile, one spanning tiles (so whole tiles are skipped
// at both ends, forward and backward), one of a single position, unscaled alone and with a window, with GQA.
export const MASK_CASES: AttentionCase[] = [
  { B: 2, T: 7, nHead: 3, hd: 5, scaled: false },
  { B: 2, T: 33, nHead: 2, hd: 16, window: 5 },
  { B: 1, T: 70, nHead: 2, hd: 64, window: 20 },
  { B: 1, T: 37, nHead: 3, hd: 9, blocks: { rows: 8, tile: 16 }, window: 19, scaled: false },
  { B: 2, T: 13, nHead: 3, nKvHead: 1, hd: 7, blocks: { rows: 4, tile: 3 }, window: 1 },
];

// Packed rows (several sequences per row, each attending within itself): rows with different layouts, sequences of
// one token, sequences across key tiles and row blocks, T not a multiple of the tile; with GQA, a window, unscaled.
export const PACKED_CASES: AttentionCase[] = [
  { B: 2, T: 33, nHead: 2, hd: 16, sequences: [[10, 1, 22], [33]] },
  {
    B: 2,
    T: 13,
    nHead: 2,
    hd: 7,
    blocks: { rows: 4, tile: 3 },
    sequences: [
      [1, 5, 7],
      [6, 6, 1],
    ],
  },
  { B: 1, T: 70, nHead: 2, hd: 64, sequences: [[3, 40, 1, 26]] },
  { B: 1, T: 37, nHead: 3, hd: 9, blocks: { rows: 8, tile: 16 }, scaled: false, sequences: [[17, 1, 19]] },
  {
    B: 2,
    T: 13,
    nHead: 3,
    nKvHead: 1,
    hd: 7,
    blocks: { rows: 4, tile: 3 },
    window: 4,
    sequences: [
      [2, 11],
      [7, 1, 5],
    ],
  },
];

export const caseLabel = ({ B, T, nHead, nKvHead, hd, blocks, scaled, window, sequences }: AttentionCase) =>
  `B=${B} T=${T} nHead=${nHead}` +
  (nKvHead ? ` nKvHead=${nKvHead}` : '') +
  ` hd=${hd}` +
  (blocks ? ` rows=${blocks.rows} tile=${blocks.tile}` : '') +
  (scaled === false ? ' unscaled' : '') +
  (window ? ` window=${window}` : '') +
  (sequences ? ` packed ${sequences.map((r) => r.join('+')).join(', ')}` : '');

/**
 * One case through our kernels (f32 or f16 operands, with or without dropout) against the float64 reference. With
 * f16, qkv and dO are f16 values already: their casts are exact and products of f16 values are exact in f32, so the
 * kernels' error is that of the f32 kernels and the tolerance is the same 1e-4.
 */
export async function checkAttention(c: AttentionCase, variant: 'f32' | 'f16', dropoutRate?: number): Promise<void> {
  const { B, T, nHead, nKvHead = nHead, hd } = c;
  const C = nHead * hd;
  const width = (nHead + 2 * nKvHead) * hd;
  const positions = c.sequences && packedPositions(c.sequences);
  const shape = { B, T, C, nHead, nKvHead, scaled: c.scaled, window: c.window, positions };
  const r = rng();
  const dropout: AttentionDropout | undefined =
    dropoutRate === undefined ? undefined : { p: dropoutRate, seed: r.ints(1, 0x7fffffff)[0] };
  const round = variant === 'f16' ? roundArrayToHalf : (a: Float32Array) => a;
  const qkvValues = round(r.normals(B * T * width, 1.5));
  const doutValues = round(r.normals(B * T * C));
  const qkv = tf.tensor3d(qkvValues, [B, T, width]);
  const dout = tf.tensor3d(doutValues, [B, T, C]);
  const options = {
    blocks: c.blocks,
    dropout,
    half: variant === 'f16',
    nKvHead: c.nKvHead,
    scaled: c.scaled,
    window: c.window,
  };
  const { out, lse } = causalSelfAttentionWithLse(qkv, nHead, options, positions);
  const dqkv = tf.grad((x: tf.Tensor) => causalSelfAttentionWithLse(x as tf.Tensor3D, nHead, options, positions).out)(
    qkv,
    dout,
  );
  const ref = attentionForward(qkvValues, shape, dropout);
  const what = `seed ${r.seed}` + (dropout ? ` mask seed ${dropout.seed}` : '');
  expectClose(await out.data(), ref.out, 1e-4, `${what} out`);
  expectClose(await lse.data(), ref.lse, 1e-4, `${what} lse`);
  expectClose(
    await dqkv.data(),
    attentionBackward(qkvValues, doutValues, shape, undefined, dropout),
    1e-4,
    `${what} dqkv`,
  );
  tf.dispose([qkv, dout, out, lse, dqkv]);
}

/**
 * dqkv through both outputs, out and the logsumexp (dlse enters the f32 delta only), against the reference; and
 * nothing left behind once the gradient is disposed.
 */
export async function checkLogsumexpGradient(o: { half?: boolean; dropout?: AttentionDropout } = {}): Promise<void> {
  const [B, T, nHead, hd] = [1, 11, 2, 5]; // hd as in an earlier case: reuses its compiled pipelines
  const C = nHead * hd;
  const shape = { B, T, C, nHead };
  const r = rng();
  const round = o.half ? roundArrayToHalf : (a: Float32Array) => a;
  const qkvValues = round(r.normals(B * T * 3 * C));
  const doutValues = round(r.normals(B * T * C));
  const dlseValues = r.normals(B * nHead * T);
  const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
  const dout = tf.tensor3d(doutValues, [B, T, C]);
  const dlse = tf.tensor3d(dlseValues, [B, nHead, T]);
  const before = tf.memory().numTensors;
  const dqkv = tf.grad((x: tf.Tensor) => {
    const { out, lse } = causalSelfAttentionWithLse(x as tf.Tensor3D, nHead, o);
    return tf.add(tf.sum(tf.mul(out, dout)), tf.sum(tf.mul(lse, dlse)));
  })(qkv);
  const want = attentionBackward(qkvValues, doutValues, shape, dlseValues, o.dropout);
  expectClose(await dqkv.data(), want, 1e-4, `seed ${r.seed} dqkv`);
  dqkv.dispose();
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([qkv, dout, dlse]);
}
