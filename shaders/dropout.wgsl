// Inverted dropout, elementwise, with masks from a counter-based hash (common/dropout_hash.wgsl): x is seen as rows
// of `inner` elements; element (row, index) is kept when dropoutBits(dropoutRowKey(seed, row), index) ≥ threshold,
// and then scaled by 1/(1 − p). No mask is stored: the gradient is this kernel again on dy with the same seed.
// bindings: x, y; uniform (n = element count, inner, seed, threshold, scale).
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

struct Params { n: u32, inner: u32, seed: u32, threshold: u32, scale: f32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;

// #include dropout_hash

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let row = i / params.inner;
  let keep = dropoutBits(dropoutRowKey(params.seed, row), i - row * params.inner) >= params.threshold;
  y[i] = select(0.0, x[i] * params.scale, keep);
}
