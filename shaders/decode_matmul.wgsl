// y (M, N) = x (M, K) · W (K, N) + bias [then gelu_new], for the few rows of a decode step (M = sequences).
//
// A tiled matmul spends most of its threads on padding rows when M is 1..8; here each thread owns one output
// column n, walks K once reading W[k, n] (adjacent threads read adjacent columns, so the reads coalesce) and
// keeps up to MAXB rows' sums in registers. W is read once per MAXB rows: a decode step is bound by reading
// the weights, and this reads each of them once.
//
// bindings: x (M·K), W (K·N, Conv1D's [in, out] layout), bias (N), y (M·N); uniform (M, K, N).
// Dispatch: ceil(N / WG) workgroups, split over x and y when above 65535.

struct Params { M: u32, K: u32, N: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 64u;
const MAXB: u32 = 8u;
const GELU: bool = false;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = gid.x + gid.y * nwg.x * WG;
  let N = params.N;
  let K = params.K;
  if (n >= N) { return; }
  for (var m0 = 0u; m0 < params.M; m0 += MAXB) {
    let nm = min(MAXB, params.M - m0);
    // Zeroed explicitly: a bare declaration in a loop kept the previous pass's sums on Dawn/SwiftShader.
    var acc = array<f32, MAXB>();
    for (var k = 0u; k < K; k++) {
      let wk = w[k * N + n];
      for (var i = 0u; i < nm; i++) { acc[i] += x[(m0 + i) * K + k] * wk; }
    }
    for (var i = 0u; i < nm; i++) {
      var v = acc[i] + bias[n];
      if (GELU) { v = 0.5 * v * (1.0 + tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))); }
      y[(m0 + i) * N + n] = v;
    }
  }
}
