// Region replacement for the `dout` of attention_backward.wgsl (regions: { dout: include('attention_dout_f16') }),
// in the backward attention kernels, for mixed precision: dout in f16, packed two per u32 (shaders/half_cast.wgsl),
// ceil(B·T·C / 2) u32, read with core WGSL's unpack2x16float; the arithmetic stays f32. As in
// attention_qkv_f16.wgsl, with HD a multiple of 4 four head dims are two whole words.

@group(0) @binding(1) var<storage, read> dout: array<u32>;

// Four consecutive head dims from the packed dout at element base + 4c, zero past HD.
fn loadDout4(base: u32, c: u32) -> vec4<f32> {
  let d = 4u * c;
  if (HD % 4u == 0u) {
    let w = (base + d) >> 1u;
    return vec4<f32>(unpack2x16float(dout[w]), unpack2x16float(dout[w + 1u]));
  }
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let i = base + d + e;
    if (d + e < HD) { v[e] = unpack2x16float(dout[i >> 1u])[i & 1u]; }
  }
  return v;
}
