// Attention of Tq new query positions against a layer's KV cache: the decode step of generation (Tq = 1) and,
// with past = 0, the prefill of a whole prompt. Query row t sits at position past + t and sees the cached keys
// 0 ..= past + t (causal), which the kv_cache_write kernel has already filled.
//
// One workgroup owns one query row of one (b, h). It walks the keys in tiles of WG: each thread scores one key
// (q·k/√HD) into workgroup memory, every thread then reads the tile's scores to update the same running max m
// and sum l (online softmax: no score row longer than a tile exists anywhere), and the weighted sum of values is
// split over the head's dimensions (thread d owns out[d], d + WG, ...), so value rows are read coalesced.
// The work per row is O(context), and a decode step is Tq = 1 row per (b, h).
//
// Grouped-query attention: query head h reads key/value head h / (nHead / nKvHead) of the caches.
//
// bindings: qkv (B·Tq·(C + 2G), q at h·HD + d; C = nHead·HD, G = nKvHead·HD), kCache, vCache (B·nKvHead·CAP·HD),
// out (B·Tq·C, heads merged); uniform (Tq, past, nHead, capacity, nKvHead). Dispatch: (Tq, nHead, B).

struct Params { Tq: u32, past: u32, nHead: u32, capacity: u32, nKvHead: u32, }

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> kCache: array<f32>;
@group(0) @binding(2) var<storage, read> vCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const HD: u32 = 64u;
const WG: u32 = 64u;
// Head dimensions each thread owns in the value sum.
const DPT: u32 = (HD + WG - 1u) / WG;
// Stands in for -inf: exp(NEG_BIG - m) is 0 for any real m, and it stays finite in arithmetic.
const NEG_BIG: f32 = -1.0e30;

var<workgroup> q: array<f32, HD>;
var<workgroup> tile: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let b = wg.z;
  let nHead = params.nHead;
  let C = nHead * HD;
  let scale = 1.0 / sqrt(f32(HD));
  let row = b * params.Tq + t;
  let stride = C + 2u * params.nKvHead * HD;
  for (var d = lid; d < HD; d += WG) { q[d] = qkv[row * stride + h * HD + d] * scale; }
  workgroupBarrier();

  let nKeys = params.past + t + 1u;
  let kvHead = h / (nHead / params.nKvHead);
  let headBase = (b * params.nKvHead + kvHead) * params.capacity * HD;
  var m = NEG_BIG;
  var l = 0.0;
  var acc: array<f32, DPT>;
  for (var start = 0u; start < nKeys; start += WG) {
    let j = start + lid;
    var s = NEG_BIG;
    if (j < nKeys) {
      s = 0.0;
      let kBase = headBase + j * HD;
      for (var d = 0u; d < HD; d++) { s += q[d] * kCache[kBase + d]; }
    }
    tile[lid] = s;
    workgroupBarrier();
    let count = min(WG, nKeys - start);
    var tileMax = NEG_BIG;
    for (var i = 0u; i < count; i++) { tileMax = max(tileMax, tile[i]); }
    let mNew = max(m, tileMax);
    let correction = exp(m - mNew);
    workgroupBarrier();
    tile[lid] = select(0.0, exp(s - mNew), j < nKeys);
    workgroupBarrier();
    var tileSum = 0.0;
    for (var i = 0u; i < count; i++) { tileSum += tile[i]; }
    l = l * correction + tileSum;
    for (var k = 0u; k < DPT; k++) {
      let d = lid + k * WG;
      if (d < HD) {
        var a = acc[k] * correction;
        for (var i = 0u; i < count; i++) { a += tile[i] * vCache[headBase + (start + i) * HD + d]; }
        acc[k] = a;
      }
    }
    m = mNew;
    workgroupBarrier();
  }
  for (var k = 0u; k < DPT; k++) {
    let d = lid + k * WG;
    if (d < HD) { out[row * C + h * HD + d] = acc[k] / l; }
  }
}
