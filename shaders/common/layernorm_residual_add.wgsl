// Region replacement for layernorm.wgsl's `input` (regions: { input: include('layernorm_residual_add') }): the row
// is s = x + residual, which the first pass also writes out (the residual stream goes on), and the last pass reads
// back. bindings after layernorm.wgsl's six: residual (rows, cols) at 6, s (rows, cols) at 7; uniform at 8.

@group(0) @binding(6) var<storage, read> residual: array<f32>;
@group(0) @binding(7) var<storage, read_write> s: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

fn rowInput(i: u32) -> f32 { return x[i] + residual[i]; }

fn keepInput(i: u32, v: f32) { s[i] = v; }

fn rowValue(i: u32) -> f32 { return s[i]; }
