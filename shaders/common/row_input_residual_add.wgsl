// Include fragment (`// #include row_input_residual_add`): the row input of a normalisation with the residual add
// fused in (layernorm_residual_add.wgsl, rmsnorm_residual_add.wgsl, which declare the bindings `x`, `residual` and
// `s`): the row is s = x + residual, which the first pass also writes out (the residual stream goes on) and the
// last pass reads back.

fn rowInput(i: u32) -> f32 { return x[i] + residual[i]; }

fn keepInput(i: u32, v: f32) { s[i] = v; }

fn rowValue(i: u32) -> f32 { return s[i]; }
