// Gradient of GPT-2's GELU (`gelu_new`): dx = dy · d/dx[0.5·x·(1 + tanh(u))], u = √(2/π)(x + 0.044715x³)
//   = dy · (0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)),  t = tanh(u)
// bindings: (x, dy, dx); uniform n. Dispatch as gelu.wgsl.

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 256u;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let v = x[i];
  let u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
  let t = tanh(u);
  let du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
  dx[i] = dy[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du);
}
