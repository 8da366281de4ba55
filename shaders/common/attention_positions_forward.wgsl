// Region replacement for the `params` of attention_forward.wgsl for packed rows: the tokens' positions within their
// sequences (common/attention_sequence_start.wgsl) after the forward's buffers, then the uniform.
@group(0) @binding(3) var<storage, read> positions: array<i32>;
@group(0) @binding(4) var<uniform> params: Params;
