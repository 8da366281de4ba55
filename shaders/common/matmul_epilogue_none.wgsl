// Include fragment (`// #include matmul_epilogue_none`), the default `epilogue` region of matmul.wgsl and
// matmul_rows.wgsl: C = op(A)·op(B). bindings after a and b: c (M, N) at 2; uniform at 3.

@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Writes element (m, n) of the result from v, element (m, n) of op(A)·op(B).
fn store(p: Params, m: u32, n: u32, v: f32) { c[m * p.N + n] = v; }
