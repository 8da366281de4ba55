// C = op(A)·op(B) [+ bias] [then gelu_new] for a few rows (M up to a handful: a decode step's sequences), the
// small-M variant of matmul.wgsl with the same bindings, epilogues and transpose flags.
//   op(A) is (M, K): A is (M, K), or (K, M) when TRANSPOSE_A
//   op(B) is (K, N): B is (K, N), or (N, K) when TRANSPOSE_B (the tied head's wteᵀ)
// The tiled kernel spends most of its threads on padding rows when M is 1..8. Here each thread owns one output
// column n, walks K once and keeps up to MAX_ROWS rows' sums in registers, so op(B), which is what a decode step
// has to read, is read once per MAX_ROWS rows. Without TRANSPOSE_B neighbouring threads read neighbouring
// columns, so the reads coalesce; with it each thread streams its own row of B.
//
// The epilogue region writes the result, as in matmul.wgsl: here C alone (bindings a, b, c; uniform at 3); the
// bias and bias + GELU epilogues replace it (common/matmul_epilogue_bias.wgsl, _bias_gelu.wgsl).
// Dispatch: ceil(N / WG) workgroups, split over x and y when above 65535.

struct Params { M: u32, N: u32, K: u32, }

const TRANSPOSE_A: bool = false;
const TRANSPOSE_B: bool = false;
const WG: u32 = 64u;
const MAX_ROWS: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;

// #region epilogue: C alone; common/matmul_epilogue_bias.wgsl and _bias_gelu.wgsl replace it
// #include matmul_epilogue_none
// #endregion epilogue

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

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = params;
  let n = column(gid, nwg);
  if (n >= p.N) { return; }
  for (var m0 = 0u; m0 < p.M; m0 += MAX_ROWS) {
    let rows = min(MAX_ROWS, p.M - m0);
    let acc = columnSums(p, n, m0, rows);
    for (var i = 0u; i < rows; i++) { store(p, m0 + i, n, acc[i]); }
  }
}
