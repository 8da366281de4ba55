// Σ of a whole buffer on the GPU by one workgroup in a fixed order (shaders/sum.wgsl): the last level of the
// reductions that end in one number, the global gradient norm and the mean loss.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import source from '../../../../shaders/sum.wgsl?raw';
import { allocate, dispatch, defineKernel } from '../runtime.ts';

const WG = 256;

const SUM = defineKernel({
  name: 'sum',
  source,
  buffers: { x: 'read', out: 'read_write' },
  uniforms: { count: 'u32', scale: 'f32' },
});

export interface SumOptions {
  /** the kernel's name in profiles */
  name: string;
  /** multiplies the sum (after the square root) */
  scale?: number;
  /** the square root of the sum */
  sqrt?: boolean;
}

/** A scalar: Σ of the first `count` elements of x (0 when count is 0), its square root if asked, times scale. */
export function sumKernel(x: TensorInfo, count: number, { name, scale = 1, sqrt = false }: SumOptions): TensorInfo {
  const out = allocate([]);
  dispatch({
    kernel: { ...SUM, name, consts: { WG, SQRT: sqrt } },
    buffers: { x, out },
    uniforms: { count, scale },
    workgroups: [1],
  });
  return out;
}
