import { describe, it, expect } from 'vitest';
import { useGpu, tf } from '../helpers.ts';
import { allocate, specialise, pipelineKey, replaceRegions } from '../../src/core/kernels/runtime.ts';

describe('kernel runtime', () => {
  const gpu = useGpu();

  it('poisons new outputs with NaN, so an unwritten element fails a test', async () => {
    const info = allocate([3, 5]);
    const t = tf.engine().makeTensorFromTensorInfo(info);
    const v = await t.data();
    expect(Array.from(v).every(Number.isNaN)).toBe(true);
    t.dispose();
  });

  it('specialises const declarations and refuses unknown names', () => {
    const src = 'const TILE: u32 = 16u;\nconst SCALE: f32 = 1.0;\nconst ON = false;\n';
    const out = specialise(src, { TILE: 32, SCALE: 0.5, ON: true });
    expect(out).toContain('const TILE: u32 = 32u;');
    expect(out).toContain('const SCALE: f32 = 0.5;');
    expect(out).toContain('const ON = true;');
    expect(() => specialise(src, { NOPE: 1 })).toThrow(/NOPE/);
  });

  it('keys pipelines by every specialisation field', () => {
    const a = pipelineKey({ name: 'k', source: '', consts: { A: 1, B: 2 } });
    const b = pipelineKey({ name: 'k', source: '', consts: { B: 2, A: 1 } });
    const c = pipelineKey({ name: 'k', source: '', consts: { A: 1, B: 3 } });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('replaces marked regions, keeps the rest, and refuses unknown or repeated names', () => {
    const src = [
      'const N: u32 = 4u;',
      '// #region operands: f32 here',
      'var<storage> a: array<f32>;',
      '// #endregion operands',
      '// #region operands2',
      'fn keep() {}',
      '// #endregion operands2',
      'fn main() {}',
      '',
    ].join('\n');
    const out = replaceRegions(src, { operands: 'var<storage> a: array<u32>; // $& $1' });
    expect(out).toContain('var<storage> a: array<u32>; // $& $1\n// #endregion operands\n');
    expect(out).not.toContain('array<f32>');
    expect(out).toContain('const N: u32 = 4u;\n// #region operands: f32 here\n');
    expect(out).toContain('fn keep() {}');
    expect(out).toContain('fn main() {}');
    expect(replaceRegions(src)).toBe(src);
    expect(() => replaceRegions(src, { nope: '' })).toThrow(/nope/);
    expect(() => replaceRegions(src + src, { operands: '' })).toThrow(/2 regions 'operands'/);
  });

  it('keys pipelines by their region replacements', () => {
    const base = { name: 'k', source: '', consts: { A: 1 } };
    const f16 = pipelineKey({ ...base, regions: { operands: 'array<u32>' } });
    expect(f16).not.toBe(pipelineKey(base));
    expect(f16).not.toBe(pipelineKey({ ...base, regions: { operands: 'array<f16>' } }));
    expect(f16).not.toBe(pipelineKey({ ...base, regions: { other: 'array<u32>' } }));
    expect(pipelineKey({ ...base, regions: { x: '1', y: '2' } })).toBe(
      pipelineKey({ ...base, regions: { y: '2', x: '1' } }),
    );
  });

  it('surfaces WebGPU validation errors instead of passing silently', async () => {
    const ctx = gpu();
    ctx.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await ctx.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => ctx.throwIfErrors()).toThrow(/WebGPU error/);
  });
});
