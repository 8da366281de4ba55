// Region replacement for the `lora_store` of common/matmul_epilogue_lora.wgsl (regions: { lora_store:
// include('matmul_epilogue_lora_gelu') }): C = gelu_new(Z) with Z, the pre-activation, kept for the backward; with
// its `gelu` region replaced too (gelu: include('gelu_exact')), the exact GELU. pre (M, N) at binding 6; uniform at 7.

@group(0) @binding(6) var<storage, read_write> pre: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

// #region gelu: gelu_new; common/gelu_exact.wgsl replaces it for the exact GELU
// #include gelu_new
// #endregion gelu

fn store(p: Params, m: u32, n: u32, v: f32) {
  let z = loraZ(p, m, n, v);
  pre[m * p.N + n] = z;
  c[m * p.N + n] = gelu(z);
}
