// Include fragment (`// #include row_layout`): how a normalisation kernel (layernorm.wgsl, rmsnorm.wgsl and their
// backward passes) cuts its rows among threads (kernels/rows.ts): ROW_THREADS threads share a row, ROWS_PER_WG rows
// per workgroup, both set from TypeScript; the threads of a row add their values with the row_sum region: in
// workgroup memory here, by subgroup operations where the variant replaces it with common/row_sum_subgroup.wgsl.
// The including shader declares `alias RowSum` and a uniform `params` with `rows`; its entry point takes
// `lanes: RowLanes` and has @workgroup_size(ROW_THREADS, ROWS_PER_WG).

const ROW_THREADS: u32 = 256u; // a power of two
const ROWS_PER_WG: u32 = 1u;

// #region row_sum: in workgroup memory; the subgroup variant replaces it with common/row_sum_subgroup.wgsl
// #include row_sum_workgroup
// #endregion row_sum

// The thread's row, unclamped, and that row clamped to the last one: threads past the last row work on the last row
// (all must meet the barriers) but write nothing.
fn rowOf(wid: vec3<u32>, nwg: vec3<u32>, lanes: RowLanes) -> u32 {
  return (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lanes.id.y;
}

fn clampedRow(row: u32) -> u32 { return min(row, params.rows - 1u); }
