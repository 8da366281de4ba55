// Include fragment (`// #include attention_backward`): the bindings and loads the backward passes over q, k and v
// share (attention_backward_dq.wgsl, attention_backward_dkv.wgsl), with attention_head.
// bindings: qkv, dout (B·T·C), lse, delta (B·nh·T), dqkv (qkv's shape); uniform (T, nHead, nKvHead, dropout).

// #include attention_head

// qkv and dout (bindings 0 and 1) are declared with their loads, in the qkv and dout regions.
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> delta: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
// #region params: the uniform; common/attention_positions_backward.wgsl replaces this for packed rows
@group(0) @binding(5) var<uniform> params: Params;
// #endregion params

// #region dout: f32 dout; common/attention_dout_f16.wgsl replaces this region for packed f16
@group(0) @binding(1) var<storage, read> dout: array<f32>;

fn loadDout4(base: u32, c: u32) -> vec4<f32> {
  let d = 4u * c;
  if (HD % 4u == 0u) {
    return vec4<f32>(dout[base + d], dout[base + d + 1u], dout[base + d + 2u], dout[base + d + 3u]);
  }
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HD) { v[e] = dout[base + d + e]; } }
  return v;
}
// #endregion dout
