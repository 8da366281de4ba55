// Global gradient norm, first level: Σ x² over chunks of CHUNK contiguous elements of one tensor, written
// to partials from `offset` on. Called once per tensor, each writing its own range of one partials buffer,
// so any number of tensors needs no more than two storage bindings; adamw_sum_of_squares_final.wgsl adds
// the partials. Fixed order throughout: the norm is the same bit for bit on every run.
// WORKGROUP_REDUCE: one partial per chunk, summed in workgroup memory (GPUs). Without it every thread writes
// its own partial (WG per chunk) and no barrier runs (CPU emulation, where barriers dominate).
// bindings: x (n), partials; uniform. Dispatch: ceil(n / CHUNK) workgroups, split over x and y above 65535.

struct Params { n: u32, offset: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u; // a power of two
const ELEMENTS_PER_THREAD: u32 = 16u;
const WORKGROUP_REDUCE = true;
const CHUNK: u32 = WG * ELEMENTS_PER_THREAD;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  if (chunk * CHUNK >= params.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < ELEMENTS_PER_THREAD; k = k + 1u) {
    let i = chunk * CHUNK + k * WG + lid;
    if (i < params.n) {
      let value = x[i];
      s = s + value * value;
    }
  }
  if (!WORKGROUP_REDUCE) {
    partials[params.offset + chunk * WG + lid] = s;
    return;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] = partial[lid] + partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { partials[params.offset + chunk] = partial[0]; }
}
