// Include fragment (`// #include matmul_load_a_f32`), the default `operand_a` region of matmul.wgsl: A in f32 at
// binding 0, and loadA(m, k) = op(A)[m, k], 0 outside op(A).

@group(0) @binding(0) var<storage, read> a: array<f32>;

fn loadA(p: Params, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (TRANSPOSE_A) { return a[k * p.M + m]; }
  return a[m * p.K + k];
}
