// Region replacement for the `epilogue` of matmul.wgsl and matmul_rows.wgsl (regions: { epilogue:
// include('matmul_epilogue_bias') }): C = op(A)·op(B) + bias. bindings after a and b: bias (N) at 2, c (M, N) at 3;
// uniform at 4.

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn store(p: Params, m: u32, n: u32, v: f32) { c[m * p.N + n] = v + bias[n]; }
