// Gradient of GPT-2's GELU (`gelu_new`): dx = dy · gelu_new'(x) (common/gelu_new.wgsl, which says how it keeps its
// accuracy in the far negative tail).
// bindings: x, dy, dx; uniform n. Dispatch as gelu.wgsl.

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 256u;

// #region gelu: gelu_new; common/gelu_exact.wgsl replaces it for the exact GELU
// #include gelu_new
// #endregion gelu

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  dx[i] = dy[i] * geluDerivative(x[i]);
}
