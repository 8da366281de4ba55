import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { embedding, tokenEmbedding, tokenPositions } from '../../src/core/kernels/embedding/index.ts';
import { embeddingForward, embeddingBackward } from '../../src/core/kernels/embedding/reference.ts';

// (B, T, C, V, n_positions): small vocabularies repeat ids within a batch; large ones leave rows unused;
// n_positions > T leaves wpe rows the batch never reaches.
const CASES: [number, number, number, number, number][] = [
  [1, 1, 1, 1, 1],
  [2, 7, 33, 5, 9],
  [3, 33, 7, 130, 40],
  [2, 65, 13, 7, 65],
  [1, 130, 65, 33, 130],
  [4, 5, 20, 50257, 16],
];

describe('embedding (wte + wpe)', () => {
  useGpu();
  for (const [B, T, C, V, P] of CASES) {
    it(`forward and both gradients match the float64 reference, B=${B} T=${T} C=${C} V=${V} n_positions=${P}`, async () => {
      const r = rng();
      const tokens = new Int32Array(r.ints(B * T, V));
      const wteV = r.normals(V * C);
      const wpeV = r.normals(P * C);
      const doutV = r.normals(B * T * C);
      const wte = tf.tensor2d(wteV, [V, C]);
      const wpe = tf.tensor2d(wpeV, [P, C]);
      const dout = tf.tensor3d(doutV, [B, T, C]);
      const out = embedding(tokens, B, T, wte, wpe);
      const [dwte, dwpe] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        embedding(tokens, B, T, a as tf.Tensor2D, b as tf.Tensor2D),
      )([wte, wpe], dout);
      const ref = embeddingBackward(tokens, B, T, doutV, V, P, C);
      expect(out.shape).toEqual([B, T, C]);
      expect(dwte.shape).toEqual([V, C]);
      expect(dwpe.shape).toEqual([P, C]);
      expectClose(await out.data(), embeddingForward(tokens, B, T, wteV, wpeV, C), 1e-4, `seed ${r.seed} out`);
      expectClose(await dwte.data(), ref.dwte, 1e-4, `seed ${r.seed} dwte`);
      expectClose(await dwpe.data(), ref.dwpe, 1e-4, `seed ${r.seed} dwpe`);
      tf.dispose([wte, wpe, dout, out, dwte, dwpe]);
    });
  }

  it('gives the same wte gradient bit for bit on every run (no atomics)', async () => {
    const r = rng();
    const [B, T, C, V] = [4, 33, 17, 3];
    const tokens = new Int32Array(r.ints(B * T, V));
    const wte = tf.tensor2d(r.normals(V * C), [V, C]);
    const wpe = tf.tensor2d(r.normals(T * C), [T, C]);
    const dout = tf.tensor3d(r.normals(B * T * C), [B, T, C]);
    const gradOf = tf.grad((a: tf.Tensor) => embedding(tokens, B, T, a as tf.Tensor2D, wpe));
    const first = gradOf(wte, dout);
    const second = gradOf(wte, dout);
    expect(Array.from(await second.data())).toEqual(Array.from(await first.data()));
    tf.dispose([wte, wpe, dout, first, second]);
  });

  for (const [B, T, C, V] of [
    [2, 7, 33, 5],
    [3, 33, 7, 130],
  ]) {
    it(`token-only: tfjs's gather forward, and the deterministic wte gradient against the float64 reference, B=${B} T=${T} C=${C} V=${V}`, async () => {
      const r = rng();
      const tokens = new Int32Array(r.ints(B * T, V));
      const wteV = r.normals(V * C);
      const doutV = r.normals(B * T * C);
      const wte = tf.tensor2d(wteV, [V, C]);
      const dout = tf.tensor3d(doutV, [B, T, C]);
      const out = tokenEmbedding(tokens, B, T, wte);
      const stock = tf.reshape(tf.gather(wte, tf.tensor1d(tokens, 'int32')), [B, T, C]);
      const gradOf = tf.grad((a: tf.Tensor) => tokenEmbedding(tokens, B, T, a as tf.Tensor2D));
      const dwte = gradOf(wte, dout);
      const again = gradOf(wte, dout);
      expect(out.shape).toEqual([B, T, C]);
      expect(await out.data()).toEqual(await stock.data());
      const ref = embeddingBackward(tokens, B, T, doutV, V, T, C);
      expectClose(await dwte.data(), ref.dwte, 1e-4, `seed ${r.seed} dwte`);
      expect(Array.from(await again.data())).toEqual(Array.from(await dwte.data()));
      tf.dispose([wte, dout, out, stock, dwte, again]);
    });
  }

  it('groups positions by token id in ascending order, and refuses ids outside the vocabulary', () => {
    const { offsets, positions } = tokenPositions(new Int32Array([2, 0, 2, 2, 0]), 4);
    expect(Array.from(offsets)).toEqual([0, 2, 2, 5, 5]);
    expect(Array.from(positions)).toEqual([1, 4, 0, 2, 3]);
    expect(() => tokenPositions(new Int32Array([0, 4]), 4)).toThrow(/outside \[0, 4\)/);
    expect(() => tokenPositions(new Int32Array([-1]), 4)).toThrow(/outside/);
  });
});
