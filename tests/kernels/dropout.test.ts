import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { useGpu, rng, expectClose, tf, ODD_SIZES } from '../helpers.ts';
import { dropout } from '../../src/core/kernels/dropout/index.ts';
import { buildShader } from '../../src/core/kernels/shader_source.ts';
import { dropoutForward, keeps } from '../../src/core/kernels/dropout/reference.ts';
import { dropoutThreshold, siteSeed, stepSeed } from '../../src/core/kernels/dropout/seeds.ts';

describe('dropout (counter-based hash masks)', () => {
  useGpu();

  for (const p of [0, 0.1, 0.5]) {
    for (const n of ODD_SIZES) {
      it(`forward and backward match the float64 reference, p=${p} n=${n}`, async () => {
        const r = rng();
        const seed = r.ints(1, 0x7fffffff)[0];
        const C = 7;
        const xv = r.normals(n * C);
        const dyv = r.normals(n * C);
        const x = tf.tensor2d(xv, [n, C]);
        const dy = tf.tensor2d(dyv, [n, C]);
        const y = dropout(x, p, seed);
        const dx = tf.grad((t: tf.Tensor) => dropout(t, p, seed))(x, dy);
        expectClose(await y.data(), dropoutForward(xv, C, p, seed), 1e-4, `seed ${r.seed} y`);
        expectClose(await dx.data(), dropoutForward(dyv, C, p, seed), 1e-4, `seed ${r.seed} dx`);
        tf.dispose([x, dy, y, dx]);
      });
    }
  }

  it('drops about a fraction p, and two seeds draw different masks', async () => {
    const [M, C] = [130, 257];
    const ones = tf.ones([M, C]);
    for (const p of [0.1, 0.5]) {
      const a = await dropout(ones, p, 1234).data();
      const b = await dropout(ones, p, 1235).data();
      const dropped = (m: ArrayLike<number>) => Array.from(m).filter((v) => v === 0).length / m.length;
      const n = M * C;
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(dropped(a) - p), `p=${p}: dropped ${dropped(a)}`).toBeLessThan(5 * sd);
      expect(Array.from(a).every((v) => v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-6)).toBe(true);
      let differ = 0;
      for (let i = 0; i < n; i++) if ((a[i] === 0) !== (b[i] === 0)) differ++;
      // Independent masks disagree on a fraction 2p(1 − p) of the elements.
      expect(Math.abs(differ / n - 2 * p * (1 - p))).toBeLessThan(0.02);
    }
    ones.dispose();
  });

  it('keeps every element at p = 0 and refuses p outside [0, 1)', () => {
    expect(dropoutThreshold(0)).toBe(0);
    expect(keeps(1, 2, 3, 0)).toBe(true);
    const x = tf.ones([2, 3]);
    expect(() => dropout(x, 1, 0)).toThrow(/\[0, 1\)/);
    expect(() => dropout(x, -0.1, 0)).toThrow(/\[0, 1\)/);
    x.dispose();
  });

  it('gives every (step, micro-batch) and every (layer, site) its own seed', () => {
    const seeds = new Set<number>();
    for (let step = 0; step < 4; step++) for (let k = 0; k < 3; k++) seeds.add(stepSeed(42, step, k));
    expect(seeds.size).toBe(12);
    const sites = new Set<number>();
    for (let l = -1; l < 4; l++)
      for (const s of ['attention', 'attentionResidual', 'mlpResidual', 'embedding'] as const)
        sites.add(siteSeed(7, l, s));
    expect(sites.size).toBe(20);
  });

  it('every shader that draws masks includes the one hash (common/dropout_hash.wgsl)', () => {
    for (const file of ['dropout', 'attention_forward', 'attention_backward_dq', 'attention_backward_dkv']) {
      const source = readFileSync(new URL(`../../shaders/${file}.wgsl`, import.meta.url), 'utf8');
      expect(source, file).not.toMatch(/fn lowbias32/);
      expect(buildShader({ source }).match(/fn lowbias32/g), file).toHaveLength(1);
    }
  });
});
