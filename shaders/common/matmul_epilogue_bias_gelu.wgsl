// Region replacement for the `epilogue` of matmul.wgsl and matmul_rows.wgsl (regions: { epilogue:
// include('matmul_epilogue_bias_gelu') }): C = gelu_new(Z), Z = op(A)·op(B) + bias, with Z kept for the backward;
// with its `gelu` region replaced too (gelu: include('gelu_exact')), the exact GELU.
// bindings after a and b: bias (N) at 2, c (M, N) at 3, pre (M, N: Z) at 4; uniform at 5.

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> pre: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// #region gelu: gelu_new; common/gelu_exact.wgsl replaces it for the exact GELU
// #include gelu_new
// #endregion gelu

fn store(p: Params, m: u32, n: u32, v: f32) {
  let z = v + bias[n];
  pre[m * p.N + n] = z;
  c[m * p.N + n] = gelu(z);
}
