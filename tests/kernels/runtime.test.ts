import { describe, it, expect } from 'vitest';
import { useGpu, tf } from '../helpers.ts';
import { allocate, pipelineKey, getPipeline, dispatch, defineKernel, grid1d } from '../../src/core/kernels/runtime.ts';
import { specialise, replaceRegions, buildShader } from '../../src/core/kernels/shader_source.ts';
import { checkContract, type KernelContract } from '../../src/core/kernels/contract.ts';
import multiTensorSource from '../../shaders/adamw_multi_tensor.wgsl?raw';
import matmulSource from '../../shaders/matmul.wgsl?raw';
import geluSource from '../../shaders/gelu.wgsl?raw';

describe('kernel runtime', () => {
  const gpu = useGpu();

  it('poisons new outputs with NaN, so an unwritten element fails a test', async () => {
    const info = allocate([3, 5]);
    const t = tf.engine().makeTensorFromTensorInfo(info);
    const v = await t.data();
    expect(Array.from(v).every(Number.isNaN)).toBe(true);
    t.dispose();
  });

  it('splits a 1-D grid over x and y only past the per-dimension limit, covering every workgroup', () => {
    expect(grid1d(1)).toEqual([1, 1]);
    expect(grid1d(65_535)).toEqual([65_535, 1]);
    for (const count of [65_536, 65_537, 1_000_003, 65_535 * 65_535]) {
      const [x, y] = grid1d(count);
      expect(x <= 65_535 && y <= 65_535 && y > 1, `${count}: ${x}×${y}`).toBe(true);
      expect(x * y >= count && x * (y - 1) < count, `${count}: ${x}×${y}`).toBe(true);
    }
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
    const buffers = {};
    const a = pipelineKey({ name: 'k', source: '', buffers, consts: { A: 1, B: 2 } });
    const b = pipelineKey({ name: 'k', source: '', buffers, consts: { B: 2, A: 1 } });
    const c = pipelineKey({ name: 'k', source: '', buffers, consts: { A: 1, B: 3 } });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(pipelineKey({ name: 'k', source: 'x', buffers, consts: { A: 1, B: 2 } })).not.toBe(a);
    // Another contract for the same shader is another pipeline, checked against it in turn; the same contract
    // written out again is the same pipeline.
    const other = { x: 'read' } as const;
    expect(pipelineKey({ name: 'k', source: '', buffers: other, consts: { A: 1, B: 2 } })).not.toBe(a);
    expect(pipelineKey({ name: 'k', source: '', buffers: {}, consts: { A: 1, B: 2 } })).toBe(a);
    const uniforms = { n: 'u32' } as const;
    expect(pipelineKey({ name: 'k', source: '', buffers, uniforms, consts: { A: 1, B: 2 } })).not.toBe(a);
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
    const base = { name: 'k', source: '', buffers: {}, consts: { A: 1 } };
    const f16 = pipelineKey({ ...base, regions: { operands: 'array<u32>' } });
    expect(f16).not.toBe(pipelineKey(base));
    expect(f16).not.toBe(pipelineKey({ ...base, regions: { operands: 'array<f16>' } }));
    expect(f16).not.toBe(pipelineKey({ ...base, regions: { other: 'array<u32>' } }));
    expect(pipelineKey({ ...base, regions: { x: '1', y: '2' } })).toBe(
      pipelineKey({ ...base, regions: { y: '2', x: '1' } }),
    );
  });

  // adamw_multi_tensor.wgsl's contract as its kernel declares it (kernels/adamw), to be spoiled one field at a time.
  const MULTI_TENSOR: KernelContract = {
    buffers: { param: 'read_write', grad: 'read', m: 'read_write', v: 'read_write', norm: 'read' },
    uniforms: {
      n: 'u32',
      decay_end: 'u32',
      beta1: 'f32',
      beta2: 'f32',
      eps: 'f32',
      decay_factor: 'f32',
      step_size: 'f32',
      inv_sqrt_bc2: 'f32',
      max_norm: 'f32',
    },
  };
  const check =
    (contract: KernelContract, source = multiTensorSource, entryPoint = 'main') =>
    () =>
      checkContract('adamw_multi_tensor', source, entryPoint, contract);

  it('accepts a contract that matches the WGSL', () => {
    expect(check(MULTI_TENSOR)).not.toThrow();
  });

  it('refuses uniforms out of order, misnamed, mistyped, missing or extra, naming the shader and the field', () => {
    const { beta1, beta2, ...rest } = MULTI_TENSOR.uniforms!;
    const swapped = { n: 'u32', decay_end: 'u32', beta2, beta1, ...rest } as const;
    expect(check({ ...MULTI_TENSOR, uniforms: swapped })).toThrow(
      /shader 'adamw_multi_tensor' \(entry point main\): uniform field 2 of struct Params is 'beta1: f32' in the WGSL but 'beta2: f32'/,
    );
    const typed = { ...MULTI_TENSOR.uniforms, decay_end: 'f32' } as const;
    expect(check({ ...MULTI_TENSOR, uniforms: typed })).toThrow(/'decay_end: u32' in the WGSL but 'decay_end: f32'/);
    const { max_norm: _, ...fewer } = MULTI_TENSOR.uniforms!;
    expect(check({ ...MULTI_TENSOR, uniforms: fewer })).toThrow(
      /field 8 .* is 'max_norm: f32' in the WGSL but missing/,
    );
    const more = { ...MULTI_TENSOR.uniforms, extra: 'u32' } as const;
    expect(check({ ...MULTI_TENSOR, uniforms: more })).toThrow(/field 9 .* is missing in the WGSL but 'extra: u32'/);
    expect(check({ buffers: MULTI_TENSOR.buffers })).toThrow(
      /uses uniform 'params: Params', which TypeScript does not/,
    );
  });

  it('refuses buffers out of order, with the wrong access, missing or extra', () => {
    const { param, grad, ...rest } = MULTI_TENSOR.buffers;
    expect(check({ ...MULTI_TENSOR, buffers: { grad, param, ...rest } })).toThrow(
      /buffer 0 is 'param' in the WGSL but 'grad' in TypeScript: the WGSL binds \(param, grad, m, v, norm\)/,
    );
    expect(check({ ...MULTI_TENSOR, buffers: { ...MULTI_TENSOR.buffers, norm: 'read_write' } })).toThrow(
      /buffer 'norm' is read in the WGSL but declared read_write/,
    );
    const { norm: _, ...four } = MULTI_TENSOR.buffers;
    expect(check({ ...MULTI_TENSOR, buffers: four })).toThrow(/buffer 4 is 'norm' in the WGSL but missing/);
    expect(check({ ...MULTI_TENSOR, buffers: { ...MULTI_TENSOR.buffers, extra: 'read' } })).toThrow(
      /buffer 5 is missing in the WGSL but 'extra'/,
    );
    expect(check(MULTI_TENSOR, undefined, 'nope')).toThrow(/no function 'nope'/);
  });

  it("reads each entry point's own bindings, through the functions it calls", () => {
    const uniforms = { M: 'u32', N: 'u32', K: 'u32' } as const;
    const plain = { buffers: { a: 'read', b: 'read', c: 'read_write' }, uniforms } as const;
    // matmul.wgsl's bindings are in its included epilogue and its operands region, used through store() and loadA().
    expect(check(plain, buildShader({ source: matmulSource }), 'main')).not.toThrow();
    // The loss-scaled entry point binds two buffers more, and reads the bias corrections' inputs instead.
    const { decay_factor: _d, step_size: _s, inv_sqrt_bc2: _i, max_norm, ...head } = MULTI_TENSOR.uniforms!;
    const lossScaled: KernelContract = {
      buffers: { ...MULTI_TENSOR.buffers, state: 'read', lr_schedule: 'read' },
      uniforms: { ...head, weight_decay: 'f32', ln_beta1: 'f32', ln_beta2: 'f32', max_norm },
    };
    const multiTensor = buildShader({ source: multiTensorSource });
    expect(check(lossScaled, multiTensor, 'main_loss_scaled')).not.toThrow();
    expect(check(MULTI_TENSOR, multiTensor, 'main_loss_scaled')).toThrow(/buffer 5 is 'state' in the WGSL but missing/);
  });

  it('checks the contract when the pipeline is built, once per pipeline key', () => {
    const x = tf.ones([5]);
    const y = tf.zeros([5]);
    // gelu.wgsl's uniform field is `n`: a kernel that calls it `count` has drifted.
    const drifted = defineKernel({
      name: 'gelu_drifted',
      source: geluSource,
      buffers: { x: 'read', y: 'read_write' },
      uniforms: { count: 'u32' },
    });
    expect(() => dispatch({ kernel: drifted, buffers: { x, y }, uniforms: { count: 5 }, workgroups: [1] })).toThrow(
      /shader 'gelu_drifted' \(entry point main\): uniform field 0 of struct Params is 'n: u32' in the WGSL but 'count: u32'/,
    );
    const fine = defineKernel({ ...drifted, name: 'gelu_checked', uniforms: { n: 'u32' } });
    const first = getPipeline(gpu().device, fine);
    expect(getPipeline(gpu().device, { ...fine })).toBe(first);
    tf.dispose([x, y]);
  });

  it('surfaces WebGPU validation errors instead of passing silently', async () => {
    const ctx = gpu();
    ctx.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await ctx.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => ctx.throwIfErrors()).toThrow(/WebGPU error/);
  });
});
