// Include fragment (`// #include row_input_x`): the row input of a normalisation without the residual add
// (layernorm.wgsl, rmsnorm.wgsl, which declare the binding `x`): the row is x itself, read again in the last pass.
// common/row_input_residual_add.wgsl has the same interface for s = x + residual.

// Element i of the row being normalised, as the first pass computes it; the later passes read it again.
fn rowInput(i: u32) -> f32 { return x[i]; }

// Keeps what the first pass computed (a thread of a row in range, for its own elements).
fn keepInput(i: u32, v: f32) {}

// Element i of the row in the last pass, once the first pass's writes are done.
fn rowValue(i: u32) -> f32 { return x[i]; }
