// Include fragment (`// #include matmul_load_b_f32`), the default `operand_b` region of matmul.wgsl: B in f32 at
// binding 1, and loadB(k, n) = op(B)[k, n], 0 outside op(B).

@group(0) @binding(1) var<storage, read> b: array<f32>;

fn loadB(p: Params, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  if (TRANSPOSE_B) { return b[n * p.K + k]; }
  return b[k * p.N + n];
}
