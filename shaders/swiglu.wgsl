// SwiGLU's gating, elementwise (Llama's MLP: down_proj(silu(gate_proj(x))·up_proj(x))): y = silu(gate)·up
// (common/silu.wgsl). swiglu_backward.wgsl is its gradient.
// bindings: gate, up, y (the same shape); uniform n = element count.
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 256u;

// #include silu

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  y[i] = silu(gate[i]) * up[i];
}
