// Causal self-attention backward, pass 3 of 3: dK and dV, parallel over key rows (FlashAttention-2 style).
// With p_ij and ds_ij recomputed as in attention_backward_dq.wgsl:
//   dv_j = Σ_i p_ij·dO_i,   dk_j = Σ_i ds_ij·q_i/√hd,   over the queries i ≥ j that see key j.
// One workgroup owns ROWS consecutive keys of one (b, h), one thread per key; it walks the query tiles from
// the one holding its first key to the end (tiles wholly above the diagonal are skipped), with the q, dO,
// lse and delta of a tile in workgroup memory. No atomics; fixed summation order (deterministic).
// Head dims four at a time, as in the other passes. dk and dv go to columns [C, 2C) and [2C, 3C) of the
// packed dqkv (B, T, 3C).
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

var<workgroup> qTile: array<vec4<f32>, TILE * HD4>;
var<workgroup> dOTile: array<vec4<f32>, TILE * HD4>;
var<workgroup> lseTile: array<f32, TILE>;
var<workgroup> deltaTile: array<f32, TILE>;

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
  let firstKey = wg.x * ROWS;
  let key = firstKey + lid;
  let safeKey = min(key, T - 1u);
  let scale = 1.0 / sqrt(f32(HD));
  let rowKey = dropoutRowKey(params.seed, bh);

  var k: array<vec4<f32>, HD4>;
  var v: array<vec4<f32>, HD4>;
  var dk: array<vec4<f32>, HD4>;
  var dv: array<vec4<f32>, HD4>;
  let kBase = (b * T + safeKey) * 3u * C + h * HD;
  for (var c = 0u; c < HD4; c++) {
    k[c] = loadQkv4(kBase + C, c);
    v[c] = loadQkv4(kBase + 2u * C, c);
  }

  let tileCount = (T - 1u) / TILE + 1u;
  for (var tile = firstKey / TILE; tile < tileCount; tile++) {
    let query0 = tile * TILE;
    workgroupBarrier();
    for (var i = lid; i < TILE * HD4; i += ROWS) {
      let query = query0 + i / HD4;
      var qv = vec4<f32>(0.0);
      var ov = vec4<f32>(0.0);
      if (query < T) {
        qv = loadQkv4((b * T + query) * 3u * C + h * HD, i % HD4) * scale;
        ov = loadDout4((b * T + query) * C + h * HD, i % HD4);
      }
      qTile[i] = qv;
      dOTile[i] = ov;
    }
    for (var i = lid; i < TILE; i += ROWS) {
      let query = min(query0 + i, T - 1u);
      lseTile[i] = lse[bh * T + query];
      deltaTile[i] = delta[bh * T + query];
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
      let pi = select(0.0, exp(s - lseTile[i]), key <= query && query < T);
      // With dropout: dv uses the dropped p·z, and ds = p·(z·dp − delta) (z = m/(1 − p)).
      var z = 1.0;
      if (DROPOUT) { z = select(0.0, params.scale, dropoutBits(rowKey, query * T + key) >= params.threshold); }
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

  if (key < T) {
    let base = (b * T + key) * 3u * C + h * HD;
    for (var d = 0u; d < HD; d++) {
      dqkv[base + C + d] = dk[d / 4u][d % 4u];
      dqkv[base + 2u * C + d] = dv[d / 4u][d % 4u];
    }
  }
}
