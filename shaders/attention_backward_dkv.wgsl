// Causal self-attention backward, pass 3 of 3: dK and dV, parallel over key rows (FlashAttention-2 style).
// With p_ij and ds_ij recomputed as in attention_backward_dq.wgsl:
//   dv_j = Σ_h Σ_i p_ij·dO_i,   dk_j = Σ_h Σ_i ds_ij·q_i/√hd,   over the queries i ≥ j that see key j
// and the query heads h that read this kv head (one head, h = g, without grouped-query attention).
// One workgroup owns ROWS consecutive keys of one (b, g), one thread per key; for each query head of the group in
// turn it walks the query tiles from the one holding its first key to the one holding the last query that sees its
// last key (tiles wholly above the diagonal, past a window or past a packed sequence's end are skipped), with the q, dO, lse and delta of a tile in workgroup memory. No atomics; a fixed summation order, heads
// then tiles (deterministic). Head dims four at a time, as in the other passes. dk and dv go to the kv head's
// columns of the packed dqkv.
// bindings: qkv, dout (B·T·C), lse, delta (B·nh·T), dqkv (qkv's shape); uniform (common/attention_backward.wgsl).
// Dispatch: (ceil(T / ROWS), B·nKvHead).

// #include attention_backward

var<workgroup> qTile: array<vec4<f32>, TILE * HD4>;
var<workgroup> dOTile: array<vec4<f32>, TILE * HD4>;
var<workgroup> lseTile: array<f32, TILE>;
var<workgroup> deltaTile: array<f32, TILE>;
var<workgroup> firstTile: array<u32, TILE>;

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // This pass's rows are keys, of kv head g; the group's query heads are g·group .. g·group + group − 1.
  let group = params.nHead / params.nKvHead;
  let b = wg.y / params.nKvHead;
  let h0 = (wg.y % params.nKvHead) * group;
  let kvb = headBlockOf(b, h0, wg.x, lid);
  let T = kvb.T;
  let key = kvb.row;

  var k: array<vec4<f32>, HD4>;
  var v: array<vec4<f32>, HD4>;
  var dk: array<vec4<f32>, HD4>;
  var dv: array<vec4<f32>, HD4>;
  let kBase = qkvBase(kvb, kvb.safe_row);
  for (var c = 0u; c < HD4; c++) {
    k[c] = loadQkv4(kBase + kvb.k_off, c);
    v[c] = loadQkv4(kBase + kvb.v_off, c);
  }

  // The query tiles that see the block's keys: from the one holding its first key to the one holding the last query
  // that sees its last key (the end, unless a window or the end of a packed sequence comes first).
  let tileEnd = lastQuery(b * params.T, min(wg.x * ROWS + ROWS, params.T) - 1u) / TILE + 1u;
  for (var h = h0; h < h0 + group; h++) {
    let hb = headBlockOf(b, h, wg.x, lid);
    for (var tile = wg.x * ROWS / TILE; tile < tileEnd; tile++) {
      let query0 = tile * TILE;
      workgroupBarrier();
      for (var i = lid; i < TILE * HD4; i += ROWS) {
        let query = query0 + i / HD4;
        var qv = vec4<f32>(0.0);
        var ov = vec4<f32>(0.0);
        if (query < T) {
          qv = loadQkv4(qkvBase(hb, query), i % HD4) * hb.scale;
          ov = loadDout4(rowBase(hb, query), i % HD4);
        }
        qTile[i] = qv;
        dOTile[i] = ov;
      }
      for (var i = lid; i < TILE; i += ROWS) {
        let query = min(query0 + i, T - 1u);
        lseTile[i] = lse[hb.bh * T + query];
        deltaTile[i] = delta[hb.bh * T + query];
        firstTile[i] = firstKey(hb.pos0, query);
      }
      workgroupBarrier();

      // All of the tile's p and ds first, then one pass over dk and dv: each of their elements is loaded and
      // stored once per tile.
      var p: array<f32, TILE>;
      var ds: array<f32, TILE>;
      for (var i = 0u; i < TILE; i++) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < HD4; c++) {
          s += dot(qTile[i * HD4 + c], k[c]);
          dp += dot(dOTile[i * HD4 + c], v[c]);
        }
        let query = query0 + i;
        let pi = select(0.0, exp(s - lseTile[i]), visible(query, firstTile[i], key) && query < T);
        // With dropout: dv uses the dropped p·z, and ds = p·(z·dp − delta) (z = m/(1 − p)).
        var z = 1.0;
        if (DROPOUT) {
          z = select(0.0, params.scale, dropoutBits(hb.row_key, query * T + key) >= params.threshold);
        }
        p[i] = pi * z;
        ds[i] = pi * (z * dp - deltaTile[i]);
      }
      for (var c = 0u; c < HD4; c++) {
        var gv = dv[c];
        var gk = dk[c];
        for (var i = 0u; i < TILE; i++) {
          gv += p[i] * dOTile[i * HD4 + c];
          gk += ds[i] * qTile[i * HD4 + c];
        }
        dv[c] = gv;
        dk[c] = gk;
      }
    }
  }

  if (key < T) {
    let base = qkvBase(kvb, key);
    for (var d = 0u; d < HD; d++) {
      dqkv[base + kvb.k_off + d] = dk[d / 4u][d % 4u];
      dqkv[base + kvb.v_off + d] = dv[d / 4u][d % 4u];
    }
  }
}
