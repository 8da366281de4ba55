// Region replacement for rmsnorm.wgsl's `input` (regions: { input: include('rmsnorm_residual_add') }): the row is
// s = x + residual (common/row_input_residual_add.wgsl), Llama's `h = h + attn(...); m = post_attention_layernorm(h)`
// in one pass. bindings after rmsnorm.wgsl's four: residual (rows, cols) at 4, s (rows, cols) at 5; uniform at 6.

@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> s: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

// #include row_input_residual_add
