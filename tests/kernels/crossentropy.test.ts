import { describe, it, expect } from 'vitest';
import { useGpu, rng, expectClose, relError, tf, skipUnsupported, ODD_SHAPES } from '../helpers.ts';
import {
  softmaxCrossEntropy,
  crossEntropyMean,
  CROSS_ENTROPY_VARIANTS,
  type CrossEntropyVariantName,
} from '../../src/core/kernels/crossentropy/index.ts';
import { crossEntropyForward, crossEntropyBackward } from '../../src/core/kernels/crossentropy/reference.ts';
import { ceilDiv, grid1d } from '../../src/core/kernels/runtime.ts';
import { IGNORE_INDEX } from '../../src/core/util/targets.ts';

// (rows, vocab): odd sizes, a vocabulary of a few thousand, and GPT-2's 50257 for a few rows.
const SHAPES: [number, number][] = [...ODD_SHAPES, [33, 3001], [3, 50257]];

const VARIANTS = Object.keys(CROSS_ENTROPY_VARIANTS) as CrossEntropyVariantName[];

/** Loss and dlogits of a variant against the float64 reference, about one row in five ignored. */
async function checkAgainstReference(variant: CrossEntropyVariantName, rows: number, vocab: number) {
  const r = rng();
  const lv = r.normals(rows * vocab, 3);
  const tv = r.ints(rows, vocab);
  // About one row in five is ignored (never every row, so the gradient is not trivially zero).
  for (let i = 1; i < rows; i++) if (r.uniform() < 0.2) tv[i] = IGNORE_INDEX;
  const dyv = r.normals(rows);
  const logits = tf.tensor2d(lv, [rows, vocab]);
  const targets = tf.tensor1d(tv, 'int32');
  const dy = tf.tensor1d(dyv);
  const loss = softmaxCrossEntropy(logits, targets, variant);
  const dlogits = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, targets, variant))(logits, dy);
  expect(loss.shape).toEqual([rows]);
  expectClose(await loss.data(), crossEntropyForward(lv, tv, rows, vocab), 1e-4, `seed ${r.seed} loss`);
  expectClose(await dlogits.data(), crossEntropyBackward(lv, tv, dyv, rows, vocab), 1e-4, `seed ${r.seed} dlogits`);
  tf.dispose([logits, targets, dy, loss, dlogits]);
}

describe('softmaxCrossEntropy', () => {
  useGpu();
  for (const variant of VARIANTS) {
    for (const [rows, vocab] of SHAPES) {
      it(`${variant}: loss and dlogits match the float64 reference, (${rows}, ${vocab}), some targets −100`, (test) => {
        skipUnsupported(test, CROSS_ENTROPY_VARIANTS[variant]);
        return checkAgainstReference(variant, rows, vocab);
      });
    }
  }

  it('threadPerRow past 65,535 workgroups: the grid splits over y, and every row is right', async () => {
    const { rowsPerWorkgroup } = CROSS_ENTROPY_VARIANTS.threadPerRow;
    const rows = 65_535 * rowsPerWorkgroup + 17; // 65,537 workgroups, more than one dimension of a dispatch takes
    expect(grid1d(ceilDiv(rows, rowsPerWorkgroup))).toEqual([32_769, 2]);
    await checkAgainstReference('threadPerRow', rows, 3);
  });

  for (const variant of VARIANTS) {
    for (const [rows, vocab] of [
      [1, 1],
      [33, 7],
      [130, 65],
      [3, 50257],
    ] as [number, number][]) {
      it(`${variant}: the fused mean and its gradient match the float64 reference, (${rows}, ${vocab})`, async (test) => {
        skipUnsupported(test, CROSS_ENTROPY_VARIANTS[variant]);
        const r = rng();
        const lv = r.normals(rows * vocab, 3);
        const tv = r.ints(rows, vocab);
        for (let i = 1; i < rows; i++) if (r.uniform() < 0.2) tv[i] = IGNORE_INDEX;
        const count = tv.filter((t) => t !== IGNORE_INDEX).length;
        const dyv = r.normal();
        const logits = tf.tensor2d(lv, [rows, vocab]);
        const targets = tf.tensor1d(tv, 'int32');
        const mean = crossEntropyMean(logits, targets, count, variant);
        const dlogits = tf.grad((l: tf.Tensor) => crossEntropyMean(l as tf.Tensor2D, targets, count, variant))(
          logits,
          tf.scalar(dyv),
        );
        const perRow = crossEntropyForward(lv, tv, rows, vocab);
        const want = perRow.reduce((a, b) => a + b, 0) / count;
        expect(mean.shape).toEqual([]);
        expect(relError(await mean.data(), [want]), `seed ${r.seed} mean`).toBeLessThan(1e-4);
        const dy = new Float64Array(rows).fill(dyv / count);
        expectClose(
          await dlogits.data(),
          crossEntropyBackward(lv, tv, dy, rows, vocab),
          1e-4,
          `seed ${r.seed} dlogits`,
        );
        tf.dispose([logits, targets, mean, dlogits]);
      });
    }
  }

  it('gives loss 0 and zero gradient for rows whose target is −100', async () => {
    const logits = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const targets = tf.tensor1d([IGNORE_INDEX, 2], 'int32');
    const ones = tf.ones([2]);
    const loss = softmaxCrossEntropy(logits, targets);
    const dlogits = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, targets))(logits, ones);
    const lossValues = await loss.data();
    const d = await dlogits.data();
    expect(lossValues[0]).toBe(0);
    expect(Array.from(d.slice(0, 3))).toEqual([0, 0, 0]);
    expect(d[5]).toBeLessThan(0);
    tf.dispose([logits, targets, ones, loss, dlogits]);
  });

  for (const variant of VARIANTS) {
    it(`${variant}: gives NaN for a target outside the vocabulary, so a bad label is loud`, async (test) => {
      skipUnsupported(test, CROSS_ENTROPY_VARIANTS[variant]);
      const logits = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
      const targets = tf.tensor1d([3, 0], 'int32');
      const loss = softmaxCrossEntropy(logits, targets, variant);
      const values = await loss.data();
      expect(Number.isNaN(values[0])).toBe(true);
      expect(Number.isFinite(values[1])).toBe(true);
      tf.dispose([logits, targets, loss]);
    });
  }
});
