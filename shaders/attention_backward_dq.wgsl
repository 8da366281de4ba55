// Causal self-attention backward, pass 2 of 3: dQ, parallel over query rows (FlashAttention-2 style).
// Probabilities are recomputed from q, k and the saved logsumexp, never stored:
//   p_ij = exp(q_i·k_j/√hd − lse_i)  (j ≤ i),  ds_ij = p_ij·(dO_i·v_j − delta_i),  dq_i = Σ_j ds_ij·k_j/√hd
// Each thread owns one query row and accumulates its own dq, so there are no atomics and the sums run in
// a fixed order (deterministic). Layouts as in attention_forward.wgsl (q, k, v strided in the packed qkv
// (B, T, 3C); head dims four at a time); dq goes to columns [0, C) of the packed dqkv, the dK/dV pass
// fills [C, 3C).
// bindings: qkv, dout (B·T·C), lse, delta (B·nh·T), dqkv (B·T·3C); uniform (T, nHead).
// Dispatch: (ceil(T / ROWS), B·nh).

// seed, threshold and scale drive attention dropout (DROPOUT true); they are ignored otherwise.
struct Params { T: u32, nHead: u32, seed: u32, threshold: u32, scale: f32, }

// qkv and dout (bindings 0 and 1) are declared with their loads, in the qkv and dout regions below.
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> delta: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const HD: u32 = 64u;
const ROWS: u32 = 32u;
const TILE: u32 = 16u;
const HD4: u32 = (HD + 3u) / 4u; // vec4s per head row
// Attention dropout (attn_pdrop) on the probabilities, training only. A constant, so with it off the kernel is the
// plain one; with it on, the mask of score (i, j) of head (b, h) is the hash of (seed, b·nHead + h, i·T + j).
const DROPOUT: bool = false;

var<workgroup> kTile: array<vec4<f32>, TILE * HD4>;
var<workgroup> vTile: array<vec4<f32>, TILE * HD4>;

// #region qkv: f32 qkv; shaders/attention_qkv_f16.wgsl replaces this region for packed f16
@group(0) @binding(0) var<storage, read> qkv: array<f32>;

// Four consecutive head dims from qkv[base + 4c ..], zero past HD.
fn loadQkv4(base: u32, c: u32) -> vec4<f32> {
  let d = 4u * c;
  if (HD % 4u == 0u) { return vec4<f32>(qkv[base + d], qkv[base + d + 1u], qkv[base + d + 2u], qkv[base + d + 3u]); }
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HD) { v[e] = qkv[base + d + e]; } }
  return v;
}
// #endregion qkv

// #region dout: f32 dout; shaders/attention_dout_f16.wgsl replaces this region for packed f16
@group(0) @binding(1) var<storage, read> dout: array<f32>;

fn loadDout4(base: u32, c: u32) -> vec4<f32> {
  let d = 4u * c;
  if (HD % 4u == 0u) { return vec4<f32>(dout[base + d], dout[base + d + 1u], dout[base + d + 2u], dout[base + d + 3u]); }
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HD) { v[e] = dout[base + d + e]; } }
  return v;
}
// #endregion dout

// #region dropout_hash: the same three functions in attention_forward/_backward_dq/_backward_dkv.wgsl
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn dropoutRowKey(seed: u32, group: u32) -> u32 { return lowbias32(seed ^ lowbias32(group + 0x9e3779b9u)); }

fn dropoutBits(key: u32, index: u32) -> u32 { return lowbias32(lowbias32(index ^ key) + key); }
// #endregion dropout_hash

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = params.T;
  let nHead = params.nHead;
  let C = nHead * HD;
  let bh = wg.y;
  let b = bh / nHead;
  let h = bh % nHead;
  let firstRow = wg.x * ROWS;
  let row = firstRow + lid;
  let safeRow = min(row, T - 1u);
  let scale = 1.0 / sqrt(f32(HD));
  let rowKey = dropoutRowKey(params.seed, bh);

  var q: array<vec4<f32>, HD4>;
  var dO: array<vec4<f32>, HD4>;
  var dq: array<vec4<f32>, HD4>;
  let qBase = (b * T + safeRow) * 3u * C + h * HD;
  let oBase = (b * T + safeRow) * C + h * HD;
  for (var c = 0u; c < HD4; c++) {
    q[c] = loadQkv4(qBase, c) * scale;
    dO[c] = loadDout4(oBase, c);
  }
  let rowLse = lse[bh * T + safeRow];
  let rowDelta = delta[bh * T + safeRow];

  let lastRow = min(firstRow + ROWS, T) - 1u;
  let tileCount = lastRow / TILE + 1u;
  for (var tile = 0u; tile < tileCount; tile++) {
    let key0 = tile * TILE;
    workgroupBarrier();
    for (var i = lid; i < TILE * HD4; i += ROWS) {
      let key = key0 + i / HD4;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (key < T) {
        let base = (b * T + key) * 3u * C + h * HD;
        kv = loadQkv4(base + C, i % HD4);
        vv = loadQkv4(base + 2u * C, i % HD4);
      }
      kTile[i] = kv;
      vTile[i] = vv;
    }
    workgroupBarrier();

    // All of the tile's ds first, then one pass over dq: each dq element is loaded and stored once per tile.
    var ds: array<f32, TILE>;
    for (var j = 0u; j < TILE; j++) {
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < HD4; c++) {
        s += dot(q[c], kTile[j * HD4 + c]);
        dp += dot(dO[c], vTile[j * HD4 + c]);
      }
      let p = select(0.0, exp(s - rowLse), key0 + j <= row);
      // With dropout, out used p·z (z = m/(1 − p)): the gradient reaching p is z·dp, and delta = rowsum(dO ∘ O)
      // is still Σ_j p_ij·z_ij·dp_ij.
      var dpz = dp;
      if (DROPOUT) { dpz = select(0.0, dp * params.scale, dropoutBits(rowKey, row * T + key0 + j) >= params.threshold); }
      ds[j] = p * (dpz - rowDelta);
    }
    for (var c = 0u; c < HD4; c++) {
      var g = dq[c];
      for (var j = 0u; j < TILE; j++) { g += ds[j] * kTile[j * HD4 + c]; }
      dq[c] = g;
    }
  }

  if (row < T) {
    let base = (b * T + row) * 3u * C + h * HD;
    for (var d = 0u; d < HD; d++) { dqkv[base + d] = dq[d / 4u][d % 4u] * scale; }
  }
}
