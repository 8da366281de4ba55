// Include fragment (`// #include attention_head`): what the flash attention kernels (attention_forward.wgsl,
// attention_backward_dq.wgsl, attention_backward_dkv.wgsl) share. q, k, v are read straight from the packed
// projection qkv (B, T, (nHead + 2·nKvHead)·HD): the nHead query heads, then the nKvHead key heads, then as many
// value heads; query head h reads kv head g = floor(h / (nHead / nKvHead)) (grouped-query attention). GPT-2's c_attn
// output (B, T, 3C) is the case nKvHead = nHead: q of head h at h·HD, its k at +C, its v at +2C. Outputs with one row
// per position, (B, T, C = nHead·HD), have the heads merged the same way. One workgroup owns ROWS consecutive rows
// (queries, or keys in the dK/dV pass) of one (b, h) (of one (b, g) in the dK/dV pass): the dispatch is
// (ceil(T / ROWS), B·nh) (B·nKvHead for dK/dV).
// The including shader declares the uniform `params` (a Params) at the binding after its buffers.

// seed, threshold and scale drive attention dropout (DROPOUT true), window the local window (WINDOWED true); they
// are ignored otherwise.
struct Params { T: u32, nHead: u32, nKvHead: u32, seed: u32, threshold: u32, scale: f32, window: u32, }

const HD: u32 = 64u;
const ROWS: u32 = 32u;
const TILE: u32 = 16u;
const HD4: u32 = (HD + 3u) / 4u; // vec4s per head row
// Attention dropout (attn_pdrop) on the probabilities, training only. A constant, so with it off the kernel is the
// plain one; with it on, the mask of score (i, j) of head (b, h) is the hash of (seed, b·nHead + h, i·T + j).
const DROPOUT: bool = false;
// Scores q·k/√HD (GPT-2, Llama), or q·k unscaled (GPT-Neo) when false.
const SCALED: bool = true;
// A local window (GPT-Neo's local layers, Mistral's sliding_window): query i sees keys j with 0 ≤ i − j < window
// only. Constants, so the plain kernel is the one GPT-2 always had.
const WINDOWED: bool = false;

// The first key query row `query` of the batch row whose positions start at pos0 (HeadBlock's pos0) sees: 0, or with
// a window its window's first, and never one before its own sequence's first (sequenceStart, which packed rows set).
// Never decreasing with query (packed sequences are runs of consecutive tokens), so a block of rows sees no key before
// its first row's first key.
fn firstKey(pos0: u32, query: u32) -> u32 {
  var first = sequenceStart(pos0, query);
  if (WINDOWED && query + 1u > params.window) { first = max(first, query + 1u - params.window); }
  return first;
}

// The last query row that sees key `key` (of the batch row whose positions start at pos0): since firstKey never
// decreases, the queries that see it are key .. that one, found by bisection (T − 1 with neither window nor packing).
fn lastQuery(pos0: u32, key: u32) -> u32 {
  var lo = key;
  var hi = params.T - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (firstKey(pos0, mid) <= key) { lo = mid; } else { hi = mid - 1u; }
  }
  return lo;
}

// Whether query row `query`, whose first key is `first` (firstKey), sees key `key`: causal, and from `first` on.
fn visible(query: u32, first: u32, key: u32) -> bool { return first <= key && key <= query; }

// #region sequence_start: one sequence per row; common/attention_sequence_start.wgsl replaces this for packed rows
// The first position of query row `query`'s sequence: the row's start.
fn sequenceStart(pos0: u32, query: u32) -> u32 { return 0u; }
// #endregion sequence_start

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
  C: u32,        // nHead·HD, the width of out and dout
  width: u32,    // (nHead + 2·nKvHead)·HD, the width of qkv
  bh: u32,
  row: u32,      // this thread's row
  safe_row: u32, // row, or T − 1 past the end
  scale: f32,    // 1/√hd, or 1 unscaled
  row_key: u32,  // the dropout hash's key for this (b, h)
  qkv0: u32,     // where the head's q of position 0 starts in qkv
  k_off: u32,    // from a position's q of the head to the k of its kv head (C for GPT-2)
  v_off: u32,    // … to the v of its kv head (2C for GPT-2)
  out0: u32,     // where the head's dims of position 0 start in a (B, T, C) tensor (out, dout)
  pos0: u32,     // b·T: where the row's position 0 sits in a (B, T) tensor (the packed rows' positions)
}

// Query head h of batch row b, rows block·ROWS + lid.
fn headBlockOf(b: u32, h: u32, block: u32, lid: u32) -> HeadBlock {
  let T = params.T;
  let nHead = params.nHead;
  let nKv = params.nKvHead;
  let C = nHead * HD;
  let width = C + 2u * nKv * HD;
  let g = h / (nHead / nKv);
  let bh = b * nHead + h;
  let row = block * ROWS + lid;
  let scale = select(1.0, 1.0 / sqrt(f32(HD)), SCALED);
  let k_off = (nHead - h + g) * HD;
  return HeadBlock(T, C, width, bh, row, min(row, T - 1u), scale, dropoutRowKey(params.seed, bh),
                   b * T * width + h * HD, k_off, k_off + nKv * HD, b * T * C + h * HD, b * T);
}

// The (b, h) of a workgroup of the forward and dQ passes, wg.y = b·nHead + h.
fn headBlock(wg: vec3<u32>, lid: u32) -> HeadBlock {
  return headBlockOf(wg.y / params.nHead, wg.y % params.nHead, wg.x, lid);
}

// Where head h's q of position t starts in qkv (its kv head's k is k_off further, v v_off).
fn qkvBase(hb: HeadBlock, t: u32) -> u32 { return hb.qkv0 + t * hb.width; }

// Where head h's dims of position t start in a (B, T, C) tensor (out, dout).
fn rowBase(hb: HeadBlock, t: u32) -> u32 { return hb.out0 + t * hb.C; }
