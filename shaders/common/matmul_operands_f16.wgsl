// Region replacement for the `operands` of matmul.wgsl (regions: { operands: include('matmul_operands_f16') }): a and
// b in f16, packed two per u32 (shaders/half_cast.wgsl), for Hearth's mixed-precision matmul; bias, c and pre stay
// f32, and so does the rest of matmul.wgsl (layout, transposes, epilogues, tiling, dispatch).
//
// Only the global loads differ: element e of a packed operand is half e & 1 of word e >> 1, unpacked with core
// WGSL's unpack2x16float (no `shader-f16` needed). Neighbouring threads still read neighbouring elements, so two
// threads share each word and the bytes fetched from memory are half of the f32 kernel's. The staged tiles stay
// f32: a product of two f16 values is exact in f32 (11 + 11 significant bits), so the sums see f32 rounding only,
// as in PyTorch's f16 matmuls with f32 accumulation. Odd sizes and odd row lengths are fine: a row may start in
// the high half of a word. a and b hold ceil(size / 2) u32.

@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;

fn loadA(p: Params, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  let e = select(m * p.K + k, k * p.M + m, TRANSPOSE_A);
  return unpack2x16float(a[e >> 1u])[e & 1u];
}

fn loadB(p: Params, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  let e = select(k * p.N + n, n * p.K + k, TRANSPOSE_B);
  return unpack2x16float(b[e >> 1u])[e & 1u];
}
