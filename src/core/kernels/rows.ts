// Kernels that reduce along rows (LayerNorm's statistics and dx, cross-entropy's logsumexp) share how they cut the
// rows among threads: ROW_THREADS threads per row, ROWS_PER_WG rows per workgroup, and how the threads of a row
// combine their values (the shader's reduction region, its subgroup form swapped in where the device has them).
import type { KernelSpec, Reduction } from './runtime.ts';
import { ceilDiv, grid1d } from './runtime.ts';
import { include } from './shader_source.ts';
import type { TensorInfo } from '@tensorflow/tfjs-core';

export interface RowLayout {
  /** threads sharing one row (a power of two; with subgroups a multiple of 128) */
  rowThreads: number;
  rowsPerWorkgroup: number;
  /** how a row's threads combine their values; 'subgroup' (one row per workgroup) needs the `subgroups` feature */
  reduction: Reduction;
}

/** Every layout gives the same result, up to rounding. */
export const ROW_LAYOUTS = {
  /** for GPUs without subgroups: a workgroup per row, values combined by a tree in workgroup memory */
  workgroupPerRow: { rowThreads: 256, rowsPerWorkgroup: 1, reduction: 'workgroup' },
  /** for CPU emulation (SwiftShader), where barriers dominate: one thread per row, no barriers */
  threadPerRow: { rowThreads: 1, rowsPerWorkgroup: 16, reduction: 'perThread' },
  /** for GPUs with subgroups: a workgroup per row, values combined by subgroup operations and a barrier or two */
  subgroupReduce: { rowThreads: 128, rowsPerWorkgroup: 1, reduction: 'subgroup' },
} as const satisfies Record<string, RowLayout>;

/**
 * The row kernel specialised for a layout: its ROW_THREADS and ROWS_PER_WG, and with subgroups the `subgroupRegions`
 * replacing its reduction (and `_subgroup` in its name, for profiles).
 */
export function rowKernel<B extends string, U extends string>(
  kernel: KernelSpec<B, U>,
  layout: RowLayout,
  subgroupRegions: Record<string, string>,
): KernelSpec<B, U> {
  const subgroups = layout.reduction === 'subgroup';
  return {
    ...kernel,
    ...(subgroups ? { name: `${kernel.name}_subgroup`, regions: { ...kernel.regions, ...subgroupRegions } } : {}),
    consts: { ...kernel.consts, ROW_THREADS: layout.rowThreads, ROWS_PER_WG: layout.rowsPerWorkgroup },
  };
}

/** The dispatch for `rows` rows. */
export const rowWorkgroups = (rows: number, layout: RowLayout) => grid1d(ceilDiv(rows, layout.rowsPerWorkgroup));

/** The subgroup layout's row sum, put in the row_sum region of a row kernel in place of the workgroup reduction. */
export const SUBGROUP_ROW_SUM = { row_sum: include('row_sum_subgroup') };

/** (M, C) of a row kernel's input; any other rank is refused, naming the op. */
export function rowsCols(x: TensorInfo, op: string): [number, number] {
  if (x.shape.length !== 2) throw new Error(`${op} expects x of shape (M, C), got (${x.shape.join(', ')})`);
  return [x.shape[0], x.shape[1]];
}
