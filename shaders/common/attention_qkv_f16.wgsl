// Region replacement for the `qkv` of attention_head.wgsl (regions: { qkv: include('attention_qkv_f16') }), in the
// forward and backward attention kernels, for mixed precision: qkv in f16, packed two per u32
// (shaders/half_cast.wgsl), ceil(B·T·3C / 2) u32. Everything after the loads (scores, softmax, sums, workgroup
// tiles, outputs) stays the f32 kernel's: a product of two f16 values is exact in f32, so only f32 rounding remains.
//
// Packed f16 is read with core WGSL's unpack2x16float (no `shader-f16` needed); with HD a multiple of 4 every head
// row starts on an even element (every offset and row width is a multiple of HD), so four head dims are two words.

@group(0) @binding(0) var<storage, read> qkv: array<u32>;

// Four consecutive head dims from the packed qkv at element base + 4c, zero past HD.
fn loadQkv4(base: u32, c: u32) -> vec4<f32> {
  let d = 4u * c;
  if (HD % 4u == 0u) {
    let w = (base + d) >> 1u;
    return vec4<f32>(unpack2x16float(qkv[w]), unpack2x16float(qkv[w + 1u]));
  }
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let i = base + d + e;
    if (d + e < HD) { v[e] = unpack2x16float(qkv[i >> 1u])[i & 1u]; }
  }
  return v;
}
