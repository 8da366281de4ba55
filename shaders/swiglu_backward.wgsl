// Gradient of SwiGLU's gating y = silu(gate)·up, both inputs in one pass:
//   dgate = dy·up·silu'(gate),  dup = dy·silu(gate)   (common/silu.wgsl)
// bindings: gate, up, dy, dgate, dup (the same shape); uniform n. Dispatch as swiglu.wgsl.

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dup: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const WG: u32 = 256u;

// #include silu

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let g = gate[i];
  dgate[i] = dy[i] * up[i] * siluDerivative(g);
  dup[i] = dy[i] * silu(g);
}
