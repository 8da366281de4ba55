// Causal self-attention backward, pass 2 of 3: dQ, parallel over query rows (FlashAttention-2 style).
// Probabilities are recomputed from q, k and the saved logsumexp, never stored:
//   p_ij = exp(q_i·k_j/√hd − lse_i)  (j ≤ i),  ds_ij = p_ij·(dO_i·v_j − delta_i),  dq_i = Σ_j ds_ij·k_j/√hd
// Each thread owns one query row and accumulates its own dq, so there are no atomics and the sums run in
// a fixed order (deterministic). Layouts and key tiles as in attention_forward.wgsl (head dims four at a
// time); dq goes to columns [0, C) of the packed dqkv, the dK/dV pass fills [C, 3C).
// bindings: qkv, dout (B·T·C), lse, delta (B·nh·T), dqkv (B·T·3C); uniform (common/attention_backward.wgsl).
// Dispatch: (ceil(T / ROWS), B·nh).

// #include attention_backward
// #include attention_key_tiles

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let hb = headBlock(wg, lid);
  let row = hb.row;

  var q: array<vec4<f32>, HD4>;
  var dO: array<vec4<f32>, HD4>;
  var dq: array<vec4<f32>, HD4>;
  let qBase = qkvBase(hb, hb.safe_row);
  let oBase = rowBase(hb, hb.safe_row);
  for (var c = 0u; c < HD4; c++) {
    q[c] = loadQkv4(qBase, c) * hb.scale;
    dO[c] = loadDout4(oBase, c);
  }
  let rowLse = lse[hb.bh * hb.T + hb.safe_row];
  let rowDelta = delta[hb.bh * hb.T + hb.safe_row];
  let first = firstKey(hb.pos0, hb.safe_row);

  let tiles = keyTiles(wg);
  for (var tile = tiles.x; tile < tiles.y; tile++) {
    let key0 = tile * TILE;
    stageKeyTile(hb, lid, key0);

    // All of the tile's ds first, then one pass over dq: each dq element is loaded and stored once per tile.
    var ds: array<f32, TILE>;
    for (var j = 0u; j < TILE; j++) {
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < HD4; c++) {
        s += dot(q[c], kTile[j * HD4 + c]);
        dp += dot(dO[c], vTile[j * HD4 + c]);
      }
      let p = select(0.0, exp(s - rowLse), visible(row, first, key0 + j));
      // With dropout, out used p·z (z = m/(1 − p)): the gradient reaching p is z·dp, and delta = rowsum(dO ∘ O)
      // is still Σ_j p_ij·z_ij·dp_ij.
      var dpz = dp;
      if (DROPOUT) {
        dpz = select(0.0, dp * params.scale, dropoutBits(hb.row_key, row * hb.T + key0 + j) >= params.threshold);
      }
      ds[j] = p * (dpz - rowDelta);
    }
    for (var c = 0u; c < HD4; c++) {
      var g = dq[c];
      for (var j = 0u; j < TILE; j++) { g += ds[j] * kTile[j * HD4 + c]; }
      dq[c] = g;
    }
  }

  if (row < hb.T) {
    let base = qkvBase(hb, row);
    for (var d = 0u; d < HD; d++) { dqkv[base + d] = dq[d / 4u][d % 4u] * hb.scale; }
  }
}
