// Region replacement for layernorm_backward.wgsl's `output` (regions: { output:
// include('layernorm_backward_residual_add') }): dx = ds + LayerNorm's part, the backward of the fused residual add.
// bindings after layernorm_backward.wgsl's six: ds (rows, cols) at 6; uniform at 7.

@group(0) @binding(6) var<storage, read> ds: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

fn dxOf(i: u32, v: f32) -> f32 { return ds[i] + v; }
