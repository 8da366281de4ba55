// The embedding from a position other than 0, as decoding after a KV cache runs it: tokens at positions
// position .. position+T−1 read those rows of wpe, and wpe's gradient lands on them (the stock op agrees). And packed
// rows (TRL's padding-free packing), each token at its own position within its sequence.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { embedding } from '../../src/core/kernels/embedding/index.ts';
import { embeddingForward, embeddingBackward } from '../../src/core/kernels/embedding/reference.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';

// (B, T, C, V, n_positions, position): the last case ends exactly at n_positions.
const CASES: [number, number, number, number, number, number][] = [
  [1, 1, 7, 5, 9, 8],
  [2, 3, 33, 11, 40, 17],
  [3, 7, 13, 130, 65, 58],
];

describe('embedding from a position', () => {
  useGpu();
  for (const [B, T, C, V, P, position] of CASES) {
    it(`forward and both gradients match the reference shifted by ${position}, B=${B} T=${T} C=${C} n_positions=${P}`, async () => {
      const r = rng();
      const tokens = new Int32Array(r.ints(B * T, V));
      const [wteV, wpeV, doutV] = [r.normals(V * C), r.normals(P * C), r.normals(B * T * C)];
      const [wte, wpe] = [tf.tensor2d(wteV, [V, C]), tf.tensor2d(wpeV, [P, C])];
      const dout = tf.tensor3d(doutV, [B, T, C]);
      const out = embedding(tokens, B, T, wte, wpe, position);
      const stock = stockOps.embedding(tokens, B, T, wte, wpe, position);
      const [dwte, dwpe] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        embedding(tokens, B, T, a as tf.Tensor2D, b as tf.Tensor2D, position),
      )([wte, wpe], dout);
      // The reference from position 0 over wpe's rows from `position` on, its wpe gradient moved back there.
      const shifted = wpeV.subarray(position * C);
      const ref = embeddingBackward(tokens, B, T, doutV, V, P - position, C);
      const refDwpe = new Float64Array(P * C);
      refDwpe.set(ref.dwpe, position * C);
      const want = embeddingForward(tokens, B, T, wteV, shifted, C);
      expectClose(await out.data(), want, 1e-4, `seed ${r.seed} out`);
      expectClose(await stock.data(), want, 1e-4, `seed ${r.seed} stock out`);
      expectClose(await dwte.data(), ref.dwte, 1e-4, `seed ${r.seed} dwte`);
      expectClose(await dwpe.data(), refDwpe, 1e-4, `seed ${r.seed} dwpe`);
      tf.dispose([wte, wpe, dout, out, stock, dwte, dwpe]);
    });
  }

  // [B, T, C, V, n_positions] and each row's sequence lengths: rows of different layouts, sequences of one token.
  const PACKED: [number[], number[][]][] = [
    [
      [2, 7, 33, 11, 9],
      [[3, 1, 3], [7]],
    ],
    [
      [3, 13, 13, 130, 13],
      [[1, 1, 11], [6, 7], [13]],
    ],
  ];
  for (const [[B, T, C, V, P], sequences] of PACKED) {
    it(`packed rows: each token at its own position, forward and both gradients, B=${B} T=${T} C=${C} sequences ${sequences.map((r) => r.join('+')).join(', ')}`, async () => {
      const r = rng();
      const positions = Int32Array.from(sequences.flat().flatMap((n) => Array.from({ length: n }, (_, k) => k)));
      const tokens = new Int32Array(r.ints(B * T, V));
      const [wteV, wpeV, doutV] = [r.normals(V * C), r.normals(P * C), r.normals(B * T * C)];
      const [wte, wpe] = [tf.tensor2d(wteV, [V, C]), tf.tensor2d(wpeV, [P, C])];
      const dout = tf.tensor3d(doutV, [B, T, C]);
      const out = embedding(tokens, B, T, wte, wpe, 0, positions);
      const stock = stockOps.embedding(tokens, B, T, wte, wpe, 0, positions);
      const [dwte, dwpe] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        embedding(tokens, B, T, a as tf.Tensor2D, b as tf.Tensor2D, 0, positions),
      )([wte, wpe], dout);
      const ref = embeddingBackward(tokens, B, T, doutV, V, P, C, positions);
      const want = embeddingForward(tokens, B, T, wteV, wpeV, C, positions);
      expectClose(await out.data(), want, 1e-4, `seed ${r.seed} out`);
      expectClose(await stock.data(), want, 1e-4, `seed ${r.seed} stock out`);
      expectClose(await dwte.data(), ref.dwte, 1e-4, `seed ${r.seed} dwte`);
      expectClose(await dwpe.data(), ref.dwpe, 1e-4, `seed ${r.seed} dwpe`);
      tf.dispose([wte, wpe, dout, out, stock, dwte, dwpe]);
    });
  }

  it('refuses positions past n_positions', () => {
    const wte = tf.zeros([5, 4]) as tf.Tensor2D;
    const wpe = tf.zeros([8, 4]) as tf.Tensor2D;
    expect(() => embedding(new Int32Array(3), 1, 3, wte, wpe, 6)).toThrow(/positions 6\.\.8 exceed n_positions 8/);
    const ids = Int32Array.of(0, 8, 1);
    expect(() => embedding(new Int32Array(3), 1, 3, wte, wpe, 0, ids)).toThrow(/position 8 of token 1 is outside/);
    tf.dispose([wte, wpe]);
  });
});
