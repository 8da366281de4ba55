// Region replacement for the `operand_b` of matmul.wgsl (regions: { operand_b: include('matmul_load_b_f16') }): B in
// f16, packed two per u32 (shaders/half_cast.wgsl), at binding 1, unpacked as matmul_load_a_f16.wgsl unpacks A: the
// mixed-precision matmul's weights, or a frozen weight held in f16 beside an f32 activation (LoRA's base).
// b holds ceil(size / 2) u32.

@group(0) @binding(1) var<storage, read> b: array<u32>;

fn loadB(p: Params, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  let e = select(k * p.N + n, n * p.K + k, TRANSPOSE_B);
  return unpack2x16float(b[e >> 1u])[e & 1u];
}
