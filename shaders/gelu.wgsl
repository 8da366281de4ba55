// GPT-2's GELU (`gelu_new`, the tanh approximation), elementwise (gelu_backward.wgsl is its gradient):
//   y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))   (common/gelu_new.wgsl)
// or, with the `gelu` region replaced by common/gelu_exact.wgsl, the exact GELU y = x·Φ(x).
// bindings: x, y; uniform n = element count.
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;

// #region gelu: gelu_new; common/gelu_exact.wgsl replaces it for the exact GELU
// #include gelu_new
// #endregion gelu

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  y[i] = gelu(x[i]);
}
