// Region replacement for the `positions` of rope.wgsl (regions: { positions: include('rope_positions') }), for packed
// rows (TRL's padding-free packing): each token's own position (its place within its sequence, counting from 0), read
// from `positions` (rows, i32) bound after rope.wgsl's buffers, then the uniform.
@group(0) @binding(3) var<storage, read> positions: array<i32>;
@group(0) @binding(4) var<uniform> params: Params;

// The position of row `row` (b·T + t): its token's own.
fn positionOf(row: u32) -> u32 { return u32(max(positions[row], 0i)); }
