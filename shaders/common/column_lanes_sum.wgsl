// Include fragment (`// #include column_lanes_sum`): the first level of the deterministic column reductions
// (layernorm_param_grad_partials.wgsl, rmsnorm_param_grad_partials.wgsl). A workgroup is TILE_COLS columns by
// ROW_LANES threads that each summed every ROW_LANES-th row of a chunk; their sums meet here, added in lane order
// (no atomics), so a gradient is the same bit for bit on every run. ROW_LANES = 1 (CPU emulation) needs no barrier.
// The including shader declares `alias ColSum` (f32 or a vector of f32), TILE_COLS and ROW_LANES.

var<workgroup> lane_sums: array<array<ColSum, TILE_COLS>, ROW_LANES>;

// The column's total over its ROW_LANES threads; meaningful on lane 0 (lid.y == 0) only. Every thread must call it.
fn columnLanesSum(lid: vec3<u32>, acc: ColSum) -> ColSum {
  if (ROW_LANES == 1u) { return acc; }
  lane_sums[lid.y][lid.x] = acc;
  workgroupBarrier();
  var total = acc;
  if (lid.y == 0u) {
    for (var k = 1u; k < ROW_LANES; k = k + 1u) { total += lane_sums[k][lid.x]; }
  }
  return total;
}
