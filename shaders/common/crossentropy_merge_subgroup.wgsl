// Region replacement for crossentropy.wgsl's `row_merge` (regions: { row_merge:
// include('crossentropy_merge_subgroup') }): the (running max, rescaled sum) pairs merged by subgroupMax and
// subgroupAdd, for devices with the `subgroups` feature. One row per workgroup (ROWS_PER_WG = 1) and ROW_THREADS a
// multiple of every subgroup size WebGPU allows (4..128), so every subgroup is full. The subgroups' pairs meet in
// workgroup memory behind one barrier, where the tree takes log2(ROW_THREADS) + 1. Nothing assumes how invocations
// map onto subgroups: a subgroup is known by its lowest local index, and the subgroup holding invocation 0 merges
// the rest.

enable subgroups;

struct RowLanes {
  @builtin(local_invocation_id) id: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) size: u32,
}

var<workgroup> subgroup_pairs: array<vec2<f32>, ROW_THREADS>;

// Merges (max, sum) pairs across a subgroup: the sum rescaled to the common max.
fn subgroup_merge(pair: vec2<f32>) -> vec2<f32> {
  let m = subgroupMax(pair.x);
  return vec2(m, subgroupAdd(pair.y * exp(pair.x - m)));
}

fn row_merge(lanes: RowLanes, pair: vec2<f32>) -> vec2<f32> {
  let li = lanes.id.x;
  let mine = subgroup_merge(pair);
  let leader = subgroupMin(li);
  subgroup_pairs[li] = select(vec2(LOWEST, 0.0), mine, li == leader);
  workgroupBarrier();
  var acc = vec2(LOWEST, 0.0);
  if (leader == 0u) {
    for (var k = lanes.sid; k < ROW_THREADS; k += lanes.size) {
      let p = subgroup_pairs[k];
      let mm = max(acc.x, p.x);
      acc = vec2(mm, acc.y * exp(acc.x - mm) + p.y * exp(p.x - mm));
    }
  }
  return subgroup_merge(acc);
}
