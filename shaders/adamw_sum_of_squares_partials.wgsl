// Global gradient norm, first level: Σ x² over chunks of CHUNK = WG·ELEMENTS_PER_THREAD contiguous elements of one
// tensor, written to partials from `offset` on. Called once per tensor, each writing its own range of one partials
// buffer, so any number of tensors needs no more than two storage bindings; shaders/sum.wgsl adds
// the partials. Fixed order throughout: the norm is the same bit for bit on every run.
// WORKGROUP_REDUCE: one partial per chunk, by the row_sum region over the workgroup (GPUs; with subgroups the region
// is common/row_sum_subgroup.wgsl). Without it every thread writes its own partial (WG per chunk) and no barrier
// runs (CPU emulation, where barriers dominate).
// bindings: x (n), partials; uniform. Dispatch: ceil(n / CHUNK) workgroups, split over x and y above 65535.

struct Params { n: u32, offset: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u; // a power of two; a multiple of 128 with subgroups
const ELEMENTS_PER_THREAD: u32 = 16u;
const WORKGROUP_REDUCE = true;
const CHUNK: u32 = WG * ELEMENTS_PER_THREAD;

// The whole workgroup is one "row".
const ROW_THREADS: u32 = WG;
const ROWS_PER_WG: u32 = 1u;
alias RowSum = f32;
// #region row_sum: in workgroup memory; the subgroup variant replaces it with common/row_sum_subgroup.wgsl
// #include row_sum_workgroup
// #endregion row_sum

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lanes: RowLanes) {
  let chunk = wid.x + wid.y * nwg.x;
  if (chunk * CHUNK >= params.n) { return; }
  let lid = lanes.id.x;
  var s = 0.0;
  for (var k = 0u; k < ELEMENTS_PER_THREAD; k++) {
    let i = chunk * CHUNK + k * WG + lid;
    if (i < params.n) {
      let value = x[i];
      s += value * value;
    }
  }
  if (!WORKGROUP_REDUCE) {
    partials[params.offset + chunk * WG + lid] = s;
    return;
  }
  let total = row_sum(lanes, s);
  if (lid == 0u) { partials[params.offset + chunk] = total; }
}
