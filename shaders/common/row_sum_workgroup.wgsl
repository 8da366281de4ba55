// Include fragment (`// #include row_sum_workgroup`): a sum over the threads that share a row, for kernels whose
// rows are cut into ROW_THREADS threads each, ROWS_PER_WG rows per workgroup (layernorm.wgsl, layernorm_backward.wgsl,
// the gradient norm's sums). The threads' values meet in workgroup memory and are added by a tree: log2(ROW_THREADS)
// + 1 barriers, and none at all with one thread per row (ROW_THREADS = 1, for CPU emulation, where barriers dominate).
// row_sum_subgroup.wgsl has the same interface and adds with subgroup operations.
//
// The including shader declares `alias RowSum` (f32 or a vector of f32), ROW_THREADS (a power of two) and
// ROWS_PER_WG, and its entry points take `lanes: RowLanes`: lanes.id.x is a thread's lane in its row, lanes.id.y its
// row's slot in the workgroup. Every thread must call row_sum (threads past the last row too); each gets its row's
// total. The order of the additions is fixed, so a sum is the same bit for bit on every run.

struct RowLanes {
  @builtin(local_invocation_id) id: vec3<u32>,
}

var<workgroup> row_partials: array<array<RowSum, ROW_THREADS>, ROWS_PER_WG>;

fn row_sum(lanes: RowLanes, value: RowSum) -> RowSum {
  if (ROW_THREADS == 1u) { return value; }
  let lane = lanes.id.x;
  let slot = lanes.id.y;
  row_partials[slot][lane] = value;
  workgroupBarrier();
  for (var stride = ROW_THREADS / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) { row_partials[slot][lane] += row_partials[slot][lane + stride]; }
    workgroupBarrier();
  }
  let total = row_partials[slot][0];
  // The next call overwrites row_partials; every thread must have read the total first.
  workgroupBarrier();
  return total;
}
