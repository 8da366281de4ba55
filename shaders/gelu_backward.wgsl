// Gradient of GPT-2's GELU (`gelu_new`): dx = dy · d/dx[0.5·x·(1 + tanh(u))], u = √(2/π)(x + 0.044715x³)
//   = dy · (0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)),  t = tanh(u)
// written with s = σ(2u) = 0.5·(1 + t), so 1 − t² = 4·s·(1 − s): `1 + tanh(u)` loses every digit to cancellation
// in the far negative tail in float32, while σ keeps its relative accuracy there.
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
  let s = 1.0 / (1.0 + exp(-2.0 * u));
  let du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
  dx[i] = dy[i] * (s + 2.0 * v * s * (1.0 - s) * du);
}
