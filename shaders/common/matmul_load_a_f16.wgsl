// Region replacement for the `operand_a` of matmul.wgsl (regions: { operand_a: include('matmul_load_a_f16') }): A in
// f16, packed two per u32 (shaders/half_cast.wgsl), at binding 0; the staged tiles and the sums stay f32.
//
// Element e of a packed operand is half e & 1 of word e >> 1, unpacked with core WGSL's unpack2x16float (no
// `shader-f16` needed). Neighbouring threads still read neighbouring elements, so two threads share each word and
// the bytes fetched are half of the f32 load's. A product of two f16 values is exact in f32 (11 + 11 significant
// bits), so with both operands f16 the sums see f32 rounding only, as PyTorch's f16 matmuls with f32 accumulation.
// Odd sizes and odd row lengths are fine: a row may start in the high half of a word. a holds ceil(size / 2) u32.

@group(0) @binding(0) var<storage, read> a: array<u32>;

fn loadA(p: Params, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  let e = select(m * p.K + k, k * p.M + m, TRANSPOSE_A);
  return unpack2x16float(a[e >> 1u])[e & 1u];
}
