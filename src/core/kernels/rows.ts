// Kernels that reduce along rows (LayerNorm's statistics and dx, cross-entropy's logsumexp) share how they cut the
// rows among threads: ROW_THREADS threads per row, ROWS_PER_WG rows per workgroup, and how the threads of a row
// combine their values (the shader's reduction region, its subgroup form swapped in where the device has them).
import type { KernelSpec, Reduction } from './runtime.ts';
import { ceilDiv, grid1d } from './runtime.ts';

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
