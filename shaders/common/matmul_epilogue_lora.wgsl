// Region replacement for the `epilogue` of matmul.wgsl (regions: { epilogue: include('matmul_epilogue_lora') }):
// a linear layer with its LoRA adapter in one pass over the output,
//   Z = op(A)·op(B) + bias + LORA_SCALE·down·loraBᵀ,   down = dropout(x)·loraAᵀ (M, R), loraB (N, R)
// without materialising W + s·B·A or a separate (M, N) sum: each output element adds its R-term dot product, R
// (the rank) a few to a few dozen, read from two small row-major buffers that stay in cache. With `lora_store`
// replaced too (common/matmul_epilogue_lora_gelu.wgsl), C = GELU(Z) with Z kept for the backward.
// bindings after a and b: bias (N; zeros for a layer without one) at 2, down at 3, loraB at 4, c (M, N) at 5; then
// the store's.

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> down: array<f32>;
@group(0) @binding(4) var<storage, read> loraB: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;

const R: u32 = 8u;            // the adapter's rank: down's and loraB's row length
const LORA_SCALE: f32 = 1.0;  // lora_alpha / r (or / √r)

// Z at (m, n) from v = op(A)·op(B) at (m, n). The base part is summed first, so that an adapter with B = 0 gives
// exactly the base layer's output.
fn loraZ(p: Params, m: u32, n: u32, v: f32) -> f32 {
  var l = 0.0;
  for (var k = 0u; k < R; k++) { l += down[m * R + k] * loraB[n * R + k]; }
  return (v + bias[n]) + LORA_SCALE * l;
}

// #region lora_store: C = Z; common/matmul_epilogue_lora_gelu.wgsl replaces it
@group(0) @binding(6) var<uniform> params: Params;

fn store(p: Params, m: u32, n: u32, v: f32) { c[m * p.N + n] = loraZ(p, m, n, v); }
// #endregion lora_store
