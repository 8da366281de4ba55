// C = op(A)·op(B) [+ bias] [then gelu_new] for a few rows (M up to a handful: a decode step's sequences), the
// small-M variant of matmul.wgsl with the same entry points, bindings and transpose flags.
//   op(A) is (M, K): A is (M, K), or (K, M) when TRANSPOSE_A
//   op(B) is (K, N): B is (K, N), or (N, K) when TRANSPOSE_B (the tied head's wteᵀ)
// The tiled kernel spends most of its threads on padding rows when M is 1..8. Here each thread owns one output
// column n, walks K once and keeps up to MAX_ROWS rows' sums in registers, so op(B), which is what a decode step
// has to read, is read once per MAX_ROWS rows. Without TRANSPOSE_B neighbouring threads read neighbouring
// columns, so the reads coalesce; with it each thread streams its own row of B.
//
// Entry points, one per epilogue (a resource interface is per entry point):
//   main            (a, b, c)             uniform at 3
//   main_bias       (a, b, bias, c)       uniform at 4
//   main_bias_gelu  (a, b, bias, c, pre)  uniform at 5; pre = op(A)·op(B) + bias, kept for the backward
// Dispatch: ceil(N / WG) workgroups, split over x and y when above 65535.

struct Params { M: u32, N: u32, K: u32, }

const TRANSPOSE_A: bool = false;
const TRANSPOSE_B: bool = false;
const WG: u32 = 64u;
const MAX_ROWS: u32 = 8u;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;

@group(0) @binding(2) var<storage, read_write> c_plain: array<f32>;
@group(0) @binding(3) var<uniform> params_plain: Params;

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> params_bias: Params;

@group(0) @binding(4) var<storage, read_write> pre: array<f32>;
@group(0) @binding(5) var<uniform> params_bias_gelu: Params;

fn loadA(p: Params, m: u32, k: u32) -> f32 {
  if (TRANSPOSE_A) { return a[k * p.M + m]; }
  return a[m * p.K + k];
}

fn loadB(p: Params, k: u32, n: u32) -> f32 {
  if (TRANSPOSE_B) { return b[n * p.K + k]; }
  return b[k * p.N + n];
}

// Column n of rows m0 .. m0 + rows − 1 of op(A)·op(B).
fn columnSums(p: Params, n: u32, m0: u32, rows: u32) -> array<f32, MAX_ROWS> {
  // Zeroed explicitly: a bare declaration in a loop kept the previous pass's sums on Dawn/SwiftShader.
  var acc = array<f32, MAX_ROWS>();
  for (var k = 0u; k < p.K; k++) {
    let bk = loadB(p, k, n);
    for (var i = 0u; i < rows; i++) { acc[i] += loadA(p, m0 + i, k) * bk; }
  }
  return acc;
}

fn column(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// gelu_new(v) = 0.5·v·(1 + tanh(u)) = v·σ(2u), as matmul.wgsl writes it (keeps the far negative tail accurate).
fn geluNew(v: f32) -> f32 {
  let u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
  return v / (1.0 + exp(-2.0 * u));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = params_plain;
  let n = column(gid, nwg);
  if (n >= p.N) { return; }
  for (var m0 = 0u; m0 < p.M; m0 += MAX_ROWS) {
    let rows = min(MAX_ROWS, p.M - m0);
    let acc = columnSums(p, n, m0, rows);
    for (var i = 0u; i < rows; i++) { c_plain[(m0 + i) * p.N + n] = acc[i]; }
  }
}

@compute @workgroup_size(WG)
fn main_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = params_bias;
  let n = column(gid, nwg);
  if (n >= p.N) { return; }
  for (var m0 = 0u; m0 < p.M; m0 += MAX_ROWS) {
    let rows = min(MAX_ROWS, p.M - m0);
    let acc = columnSums(p, n, m0, rows);
    for (var i = 0u; i < rows; i++) { c[(m0 + i) * p.N + n] = acc[i] + bias[n]; }
  }
}

@compute @workgroup_size(WG)
fn main_bias_gelu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = params_bias_gelu;
  let n = column(gid, nwg);
  if (n >= p.N) { return; }
  for (var m0 = 0u; m0 < p.M; m0 += MAX_ROWS) {
    let rows = min(MAX_ROWS, p.M - m0);
    let acc = columnSums(p, n, m0, rows);
    for (var i = 0u; i < rows; i++) {
      let v = acc[i] + bias[n];
      pre[(m0 + i) * p.N + n] = v;
      c[(m0 + i) * p.N + n] = geluNew(v);
    }
  }
}
