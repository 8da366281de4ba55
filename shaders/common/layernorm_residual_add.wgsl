// Region replacement for layernorm.wgsl's `input` (regions: { input: include('layernorm_residual_add') }): the row
// is s = x + residual (common/row_input_residual_add.wgsl). bindings after layernorm.wgsl's six: residual
// (rows, cols) at 6, s (rows, cols) at 7; uniform at 8.

@group(0) @binding(6) var<storage, read> residual: array<f32>;
@group(0) @binding(7) var<storage, read_write> s: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

// #include row_input_residual_add
