enable subgroups;
// Global gradient norm, first level, with subgroup operations: Σ x² over chunks of CHUNK = WG·ELEMENTS_PER_THREAD
// contiguous elements of one tensor, one partial per chunk from `offset` on (the layout of the WORKGROUP_REDUCE
// variant of adamw_sum_of_squares_partials.wgsl, so adamw_sum_of_squares_final.wgsl adds them).
// subgroupAdd combines each subgroup; the subgroups' sums meet in workgroup memory behind one barrier, where the
// tree of the plain variant takes log2(WG) barriers. Nothing assumes how invocations map onto subgroups: a
// subgroup is known by its lowest local index (unique to it), and the subgroup holding invocation 0 adds the rest.
// On a given device the order of every sum is fixed, so the norm is the same bit for bit on every run.
// bindings: x (n), partials; uniform. Dispatch: ceil(n / CHUNK) workgroups, split over x and y above 65535.

struct Params { n: u32, offset: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// A multiple of every subgroup size WebGPU allows (4..128), so every subgroup is full.
const WG: u32 = 128u;
const ELEMENTS_PER_THREAD: u32 = 8u;
const CHUNK: u32 = WG * ELEMENTS_PER_THREAD;

var<workgroup> subgroup_sums: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) sg: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  if (chunk * CHUNK >= params.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < ELEMENTS_PER_THREAD; k++) {
    let i = chunk * CHUNK + k * WG + li;
    if (i < params.n) {
      let value = x[i];
      s += value * value;
    }
  }
  let subgroup_total = subgroupAdd(s);
  let leader = subgroupMin(li);
  // Every slot is written: the sum at the subgroup's lowest index, zeros elsewhere.
  subgroup_sums[li] = select(0.0, subgroup_total, li == leader);
  workgroupBarrier();
  var t = 0.0;
  if (leader == 0u) {
    for (var k = sid; k < WG; k += sg) { t += subgroup_sums[k]; }
  }
  let total = subgroupAdd(t);
  if (li == 0u) { partials[params.offset + chunk] = total; }
}
