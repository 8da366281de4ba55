// Region replacement for the `params` of common/attention_backward.wgsl (the dQ and dK/dV passes) for packed rows: the
// tokens' positions within their sequences (common/attention_sequence_start.wgsl) after the passes' buffers, then the
// uniform.
@group(0) @binding(5) var<storage, read> positions: array<i32>;
@group(0) @binding(6) var<uniform> params: Params;
