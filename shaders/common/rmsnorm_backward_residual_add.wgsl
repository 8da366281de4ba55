// Region replacement for rmsnorm_backward.wgsl's `output` (regions: { output:
// include('rmsnorm_backward_residual_add') }): dx = ds + RMSNorm's part, the backward of the fused residual add.
// bindings after rmsnorm_backward.wgsl's five: ds (rows, cols) at 5; uniform at 6.

@group(0) @binding(5) var<storage, read> ds: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

fn dxOf(i: u32, v: f32) -> f32 { return ds[i] + v; }
