// Include fragment (`// #include attention_head`): what the flash attention kernels (attention_forward.wgsl,
// attention_backward_dq.wgsl, attention_backward_dkv.wgsl) share. q, k, v are read straight from c_attn's packed
// output qkv (B, T, 3C): for head h, q is qkv[b, t, h·HD + d], k is at +C and v at +2C; outputs with one row per
// position, (B, T, C), have the heads merged the same way. One workgroup owns ROWS consecutive rows (queries, or
// keys in the dK/dV pass) of one (b, h): the dispatch is (ceil(T / ROWS), B·nh).
// The including shader declares the uniform `params` (a Params) at the binding after its buffers.

// seed, threshold and scale drive attention dropout (DROPOUT true); they are ignored otherwise.
struct Params { T: u32, nHead: u32, seed: u32, threshold: u32, scale: f32, }

const HD: u32 = 64u;
const ROWS: u32 = 32u;
const TILE: u32 = 16u;
const HD4: u32 = (HD + 3u) / 4u; // vec4s per head row
// Attention dropout (attn_pdrop) on the probabilities, training only. A constant, so with it off the kernel is the
// plain one; with it on, the mask of score (i, j) of head (b, h) is the hash of (seed, b·nHead + h, i·T + j).
const DROPOUT: bool = false;

// #region qkv: f32 qkv; common/attention_qkv_f16.wgsl replaces this region for packed f16
@group(0) @binding(0) var<storage, read> qkv: array<f32>;

// Four consecutive head dims from qkv[base + 4c ..], zero past HD (odd head dims pad to a multiple of 4).
fn loadQkv4(base: u32, c: u32) -> vec4<f32> {
  let d = 4u * c;
  if (HD % 4u == 0u) { return vec4<f32>(qkv[base + d], qkv[base + d + 1u], qkv[base + d + 2u], qkv[base + d + 3u]); }
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HD) { v[e] = qkv[base + d + e]; } }
  return v;
}
// #endregion qkv

// #include dropout_hash

// The head a workgroup works on and this thread's row. Threads past T work on row T − 1 (all must meet the barriers
// and load their share of the tiles) but write nothing. (Loop bounds that barriers sit in are taken from params
// and the workgroup id instead, which WGSL's uniformity analysis can see are the same for the whole workgroup.)
struct HeadBlock {
  T: u32,
  C: u32,
  bh: u32,
  row: u32,      // this thread's row
  safe_row: u32, // row, or T − 1 past the end
  scale: f32,    // 1/√hd
  row_key: u32,  // the dropout hash's key for this (b, h)
  qkv0: u32,     // where the head's q of position 0 starts in qkv (k is C further, v 2C)
  out0: u32,     // where the head's dims of position 0 start in a (B, T, C) tensor (out, dout)
}

fn headBlock(wg: vec3<u32>, lid: u32) -> HeadBlock {
  let T = params.T;
  let nHead = params.nHead;
  let C = nHead * HD;
  let bh = wg.y;
  let b = bh / nHead;
  let h = bh % nHead;
  let row = wg.x * ROWS + lid;
  let scale = 1.0 / sqrt(f32(HD));
  return HeadBlock(T, C, bh, row, min(row, T - 1u), scale, dropoutRowKey(params.seed, bh),
                   b * T * 3u * C + h * HD, b * T * C + h * HD);
}

// Where head h's q of position t starts in qkv (k is C further, v 2C).
fn qkvBase(hb: HeadBlock, t: u32) -> u32 { return hb.qkv0 + t * 3u * hb.C; }

// Where head h's dims of position t start in a (B, T, C) tensor (out, dout).
fn rowBase(hb: HeadBlock, t: u32) -> u32 { return hb.out0 + t * hb.C; }
