import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { rope, type RopeSpec } from '../../src/core/kernels/rope/index.ts';
import { ropeReference } from '../../src/core/kernels/rope/reference.ts';
import { stockRope } from '../../src/core/kernels/rope/stock.ts';

/** Llama's inverse frequencies: 1 / theta^(2i / rotaryDim), in float32 as transformers computes them. */
const invFreqOf = (rotaryDim: number, theta: number) =>
  Float32Array.from({ length: rotaryDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / rotaryDim));

// [B, T, nHeads, headDim, rotaryDim, position]: odd sizes (none a multiple of the workgroup); full rotary (Llama),
// partial (GPT-NeoX's rotary_pct: 8 of 20, 2 of 6), one rotated pair, a decode step (T = 1) deep into a context,
// and positions of thousands of radians (the kernel's range reduction).
const CASES: [number, number, number, number, number, number][] = [
  [1, 1, 1, 2, 2, 0],
  [2, 7, 3, 8, 8, 0],
  [3, 33, 5, 20, 8, 0],
  [1, 130, 2, 6, 2, 5],
  [2, 1, 7, 16, 16, 4000],
  [1, 65, 4, 64, 64, 2043],
];

function spec([B, T, nHeads, headDim, rotaryDim, position]: (typeof CASES)[number]): RopeSpec {
  return { B, T, nHeads, headDim, rotaryDim, invFreq: invFreqOf(rotaryDim, 10000), position };
}

/** rope's forward and backward against the float64 reference, and the stock op's (tfjs autodiff) against both. */
async function checkRope(r: RopeSpec): Promise<void> {
  const g = rng();
  const rows = r.B * r.T;
  const cols = r.nHeads * r.headDim;
  const xv = g.normals(rows * cols);
  const dyv = g.normals(rows * cols);
  const x = tf.tensor2d(xv, [rows, cols]);
  const dy = tf.tensor2d(dyv, [rows, cols]);
  const y = rope(x, r);
  const dx = tf.grad((t: tf.Tensor) => rope(t as tf.Tensor2D, r))(x, dy);
  const want = ropeReference(xv, r);
  expectClose(await y.data(), want, 1e-4, `seed ${g.seed} y`);
  expectClose(await dx.data(), ropeReference(dyv, r, -1), 1e-4, `seed ${g.seed} dx`);
  const sy = stockRope(x, r);
  const sdx = tf.grad((t: tf.Tensor) => stockRope(t as tf.Tensor2D, r))(x, dy);
  expectClose(await sy.data(), want, 1e-4, `seed ${g.seed} stock y`);
  expectClose(await dx.data(), await sdx.data(), 1e-3, `seed ${g.seed} dx vs tfjs autodiff`);
  tf.dispose([x, dy, y, dx, sy, sdx]);
}

describe('rope', () => {
  useGpu();
  for (const c of CASES) {
    it(`forward and backward match the float64 reference and tfjs autodiff, [B, T, heads, headDim, rotaryDim, position] = [${c}]`, async () => {
      await checkRope(spec(c));
    });
  }

  // Packed rows (TRL's padding-free packing): each token at its own position. Rows with different layouts, sequences
  // of one token, T not a multiple of the workgroup; full and partial rotary, and positions from position + t alone
  // would differ from.
  const PACKED: [(typeof CASES)[number], number[][]][] = [
    [
      [2, 7, 3, 8, 8, 0],
      [[3, 1, 3], [7]],
    ],
    [
      [3, 33, 5, 20, 8, 0],
      [[10, 1, 22], [33], [1, 1, 31]],
    ],
    [[1, 130, 2, 6, 2, 0], [[64, 1, 65]]],
  ];
  for (const [c, sequences] of PACKED) {
    it(`packed rows: each token at its own position, forward and backward, [B, T, heads, headDim, rotaryDim] = [${c.slice(0, 5)}], sequences ${sequences.map((r) => r.join('+')).join(', ')}`, async () => {
      const positions = Int32Array.from(sequences.flat().flatMap((n) => Array.from({ length: n }, (_, k) => k)));
      await checkRope({ ...spec(c), positions });
    });
  }

  it('refuses a shape or a rotary size that does not fit, by name', () => {
    const x = tf.zeros([6, 8]) as tf.Tensor2D;
    const r = spec([2, 3, 2, 4, 4, 0]);
    expect(() => rope(x, { ...r, T: 4 })).toThrow(/x must be \(B·T, nHeads·headDim\)/);
    expect(() => rope(x, { ...r, rotaryDim: 3 })).toThrow(/rotaryDim 3 must be even/);
    expect(() => rope(x, { ...r, invFreq: new Float32Array(1) })).toThrow(/invFreq has 1 values/);
    expect(() => rope(x, { ...r, positions: new Int32Array(5) })).toThrow(/positions must be B·T = 6 positions/);
    x.dispose();
  });

  it('leaves no tensors behind outside a gradient', () => {
    const x = tf.randomNormal([6, 8]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const y = rope(x, spec([2, 3, 2, 4, 2, 1]));
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, y]);
  });
});
