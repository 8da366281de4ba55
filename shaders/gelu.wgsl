// GPT-2's GELU (`gelu_new`, the tanh approximation), forward and backward, elementwise.
//   y  = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
//   dx = dy · y'(x)
// bindings: forward (x, y), backward (x, dy, dx); uniform n = element count.
// Dispatch: ceil(n / 256) workgroups, split over x and y when above 65535.

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let v = x[i];
  let u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
  y[i] = v / (1.0 + exp(-2.0 * u)); // 0.5·(1 + tanh(u)) = σ(2u), without tanh's cancellation for u ≪ 0
}
