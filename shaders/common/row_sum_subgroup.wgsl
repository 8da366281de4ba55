// Include fragment (`// #include row_sum_subgroup`, in place of row_sum_workgroup.wgsl, whose interface it has): the
// row sum by subgroup operations, for devices with the `subgroups` feature. One row per workgroup (ROWS_PER_WG = 1)
// and ROW_THREADS a multiple of every subgroup size WebGPU allows (4..128), so every subgroup is full.
// subgroupAdd combines each subgroup; the subgroups' sums meet in workgroup memory behind one barrier (the tree takes
// log2(ROW_THREADS)), and a second barrier hands the total to every thread. Nothing assumes how invocations map onto
// subgroups: a subgroup is known by its lowest local index (unique to it), and the subgroup holding invocation 0 adds
// the rest. On a given device the order of every sum is fixed, so it is the same bit for bit on every run.

enable subgroups;

struct RowLanes {
  @builtin(local_invocation_id) id: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) size: u32,
}

var<workgroup> subgroup_sums: array<RowSum, ROW_THREADS>;
var<workgroup> row_total: RowSum;

fn row_sum(lanes: RowLanes, value: RowSum) -> RowSum {
  let li = lanes.id.x;
  let mine = subgroupAdd(value);
  let leader = subgroupMin(li);
  // Every slot is written: the sum at the subgroup's lowest index, zeros elsewhere.
  subgroup_sums[li] = select(RowSum(), mine, li == leader);
  workgroupBarrier();
  var t = RowSum();
  if (leader == 0u) {
    for (var k = lanes.sid; k < ROW_THREADS; k += lanes.size) { t += subgroup_sums[k]; }
  }
  let total = subgroupAdd(t);
  if (li == 0u) { row_total = total; }
  workgroupBarrier();
  return row_total;
}
