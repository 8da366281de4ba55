// Region replacement for the `sequence_start` of attention_head.wgsl (regions: { sequence_start:
// include('attention_sequence_start') }), in the flash attention kernels, for packed rows (TRL's padding-free
// packing): several sequences share a row, and each token sees only the earlier tokens of its own sequence, as
// flash-attention's varlen kernels do. `positions` (B·T, i32) holds each token's position within its sequence,
// counting from 0 at the sequence's first token; the kernel binds it after its other buffers
// (common/attention_positions_forward.wgsl, attention_positions_backward.wgsl).

// The first position of query row `query`'s sequence (positions of its batch row from pos0): query − its position (a
// position past query reads as the row's start, a negative one as query itself).
fn sequenceStart(pos0: u32, query: u32) -> u32 {
  let p = u32(max(positions[pos0 + query], 0i));
  return query - min(p, query);
}
