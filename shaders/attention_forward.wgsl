// Causal self-attention forward, flash-style: out = softmax(q·kᵀ/√hd + causal mask)·v per (b, h), and the
// per-row logsumexp the backward pass recomputes probabilities from.
//
// q, k, v are read straight from c_attn's packed output qkv (B, T, 3C): for head h, q is qkv[b, t, h·HD + d],
// k is at +C and v at +2C. That is the (B, nh, T, hd) attention with strided indexing, so no split or
// transpose copies are made; out (B, T, C) is written with heads already merged (HF's _merge_heads).
//
// One workgroup owns ROWS consecutive query rows of one (b, h), one thread per row. It walks the key tiles
// from the start to the tile holding its last row (tiles wholly above the diagonal are never loaded),
// keeping a running max m and sum l (online softmax), so no T×T matrix exists anywhere. K and V tiles
// sit in workgroup memory; every thread reads the same element at the same time (a broadcast). Head dims
// are handled four at a time (vec4, zero-padded past HD): fewer instructions and wider loads, on a GPU and
// on SwiftShader alike.
//
// bindings: qkv (B·T·3C), out (B·T·C), lse (B·nh·T, natural log of Σ exp(q·k/√hd)); uniform (T, nHead).
// Dispatch: (ceil(T / ROWS), B·nh).

// seed, threshold and scale drive attention dropout (DROPOUT true); they are ignored otherwise.
struct Params { T: u32, nHead: u32, seed: u32, threshold: u32, scale: f32, }

// qkv (binding 0) is declared with its load, in the qkv region below.
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const HD: u32 = 64u;
const ROWS: u32 = 32u;
const TILE: u32 = 16u;
const HD4: u32 = (HD + 3u) / 4u; // vec4s per head row
// Attention dropout (attn_pdrop) on the probabilities, training only. A constant, so with it off the kernel is the
// plain one; with it on, the mask of score (i, j) of head (b, h) is the hash of (seed, b·nHead + h, i·T + j).
const DROPOUT: bool = false;
// Stands in for -inf: exp(NEG_BIG - m) is 0 for any real m, and it stays finite in arithmetic.
const NEG_BIG: f32 = -1.0e30;

var<workgroup> kTile: array<vec4<f32>, TILE * HD4>;
var<workgroup> vTile: array<vec4<f32>, TILE * HD4>;

// #region qkv: f32 qkv; shaders/attention_qkv_f16.wgsl replaces this region for packed f16
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
  // Threads past the end still load tiles and meet the barriers; they only skip the final write.
  let safeRow = min(row, T - 1u);
  let scale = 1.0 / sqrt(f32(HD));
  let rowKey = dropoutRowKey(params.seed, bh);

  var q: array<vec4<f32>, HD4>;
  var acc: array<vec4<f32>, HD4>;
  let qBase = (b * T + safeRow) * 3u * C + h * HD;
  for (var c = 0u; c < HD4; c++) { q[c] = loadQkv4(qBase, c) * scale; }

  var m = NEG_BIG;
  var l = 0.0;
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

    var p: array<f32, TILE>;
    var tileMax = NEG_BIG;
    for (var j = 0u; j < TILE; j++) {
      var s = 0.0;
      for (var c = 0u; c < HD4; c++) { s += dot(q[c], kTile[j * HD4 + c]); }
      s = select(NEG_BIG, s, key0 + j <= row);
      p[j] = s;
      tileMax = max(tileMax, s);
    }
    let mNew = max(m, tileMax);
    let alpha = exp(m - mNew);
    var pSum = 0.0;
    for (var j = 0u; j < TILE; j++) {
      // A row whose keys in this tile are all masked keeps p = 0 even while m is still NEG_BIG.
      let e = select(0.0, exp(p[j] - mNew), key0 + j <= row);
      p[j] = e;
      pSum += e;
    }
    // l sums the undropped probabilities (the softmax's normaliser and the logsumexp are dropout's input); only
    // what reaches V is dropped: out_i = Σ_j p_ij·m_ij/(1 − p)·v_j.
    l = l * alpha + pSum;
    if (DROPOUT) {
      for (var j = 0u; j < TILE; j++) {
        let keep = dropoutBits(rowKey, row * T + key0 + j) >= params.threshold;
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

  if (row < T) {
    let outBase = (b * T + row) * C + h * HD;
    let inv = 1.0 / l;
    for (var d = 0u; d < HD; d++) { out[outBase + d] = acc[d / 4u][d % 4u] * inv; }
    lse[bh * T + row] = m + log(l);
  }
}
