// Causal self-attention forward, flash-style: out = softmax(q·kᵀ/√hd + causal mask)·v per (b, h) (unscaled, or
// within a local window, as the SCALED and WINDOWED variants of common/attention_head.wgsl say), and the
// per-row logsumexp the backward pass recomputes probabilities from.
//
// q, k, v are read straight from the packed qkv (B, T, 3C) and out (B, T, C) is written with heads already merged
// (HF's _merge_heads): the (B, nh, T, hd) attention with strided indexing, so no split or transpose copies are made
// (common/attention_head.wgsl).
//
// One workgroup owns ROWS consecutive query rows of one (b, h), one thread per row. It walks the key tiles
// from the start to the tile holding its last row (tiles wholly above the diagonal are never loaded),
// keeping a running max m and sum l (online softmax), so no T×T matrix exists anywhere. K and V tiles
// sit in workgroup memory (common/attention_key_tiles.wgsl). Head dims are handled four at a time (vec4,
// zero-padded past HD): fewer instructions and wider loads, on a GPU and on SwiftShader alike.
//
// bindings: qkv (B·T·(nHead + 2·nKvHead)·HD), out (B·T·C), lse (B·nh·T, natural log of Σ exp(q·k/√hd));
// uniform (T, nHead, nKvHead, dropout).
// Dispatch: (ceil(T / ROWS), B·nh).

// #include attention_head
// #include attention_key_tiles

// qkv (binding 0) is declared with its load, in attention_head's qkv region.
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
// #region params: the uniform; common/attention_positions_forward.wgsl replaces this for packed rows
@group(0) @binding(3) var<uniform> params: Params;
// #endregion params

// Stands in for -inf: exp(NEG_BIG - m) is 0 for any real m, and it stays finite in arithmetic.
const NEG_BIG: f32 = -1.0e30;

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let hb = headBlock(wg, lid);
  let row = hb.row;

  var q: array<vec4<f32>, HD4>;
  var acc: array<vec4<f32>, HD4>;
  let qBase = qkvBase(hb, hb.safe_row);
  for (var c = 0u; c < HD4; c++) { q[c] = loadQkv4(qBase, c) * hb.scale; }
  let first = firstKey(hb.pos0, hb.safe_row);

  var m = NEG_BIG;
  var l = 0.0;
  let tiles = keyTiles(wg);
  for (var tile = tiles.x; tile < tiles.y; tile++) {
    let key0 = tile * TILE;
    stageKeyTile(hb, lid, key0);

    var p: array<f32, TILE>;
    var tileMax = NEG_BIG;
    for (var j = 0u; j < TILE; j++) {
      var s = 0.0;
      for (var c = 0u; c < HD4; c++) { s += dot(q[c], kTile[j * HD4 + c]); }
      s = select(NEG_BIG, s, visible(row, first, key0 + j));
      p[j] = s;
      tileMax = max(tileMax, s);
    }
    let mNew = max(m, tileMax);
    let alpha = exp(m - mNew);
    var pSum = 0.0;
    for (var j = 0u; j < TILE; j++) {
      // A row whose keys in this tile are all masked keeps p = 0 even while m is still NEG_BIG.
      let e = select(0.0, exp(p[j] - mNew), visible(row, first, key0 + j));
      p[j] = e;
      pSum += e;
    }
    // l sums the undropped probabilities (the softmax's normaliser and the logsumexp are dropout's input); only
    // what reaches V is dropped: out_i = Σ_j p_ij·m_ij/(1 − p)·v_j.
    l = l * alpha + pSum;
    if (DROPOUT) {
      for (var j = 0u; j < TILE; j++) {
        let keep = dropoutBits(hb.row_key, row * hb.T + key0 + j) >= params.threshold;
        p[j] = select(0.0, p[j] * params.scale, keep);
      }
    }
    for (var c = 0u; c < HD4; c++) {
      var a = acc[c] * alpha;
      for (var j = 0u; j < TILE; j++) { a += p[j] * vTile[j * HD4 + c]; }
      acc[c] = a;
    }
    m = mNew;
  }

  if (row < hb.T) {
    let outBase = rowBase(hb, row);
    let inv = 1.0 / l;
    for (var d = 0u; d < HD; d++) { out[outBase + d] = acc[d / 4u][d % 4u] * inv; }
    lse[hb.bh * hb.T + row] = m + log(l);
  }
}
