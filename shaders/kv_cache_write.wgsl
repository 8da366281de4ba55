// Appends the keys and values of Tq new positions to a layer's KV cache.
//
// k and v are read straight from the packed qkv (B, Tq, C + 2G), C = nHead·HD query columns, then G = nKvHead·HD of
// keys and G of values (G = C for GPT-2's c_attn): for key/value head h, k is qkv[b, t, C + h·HD + d] and v is at
// C + G + h·HD + d. The caches are (B, nKvHead, CAP, HD), so one head's keys for consecutive positions are
// contiguous: the decode-attention kernel then reads a key (or a value) row as HD consecutive floats.
// New position t lands at row past + t.
//
// bindings: qkv (B·Tq·(C + 2G)), kCache, vCache (B·nKvHead·CAP·HD); uniform (n = B·Tq·G, Tq, past, nHead, capacity,
// nKvHead).
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

struct Params { n: u32, Tq: u32, past: u32, nHead: u32, capacity: u32, nKvHead: u32, }

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const HD: u32 = 64u;
const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let C = params.nHead * HD;
  let G = params.nKvHead * HD;
  let c = i % G;
  let bt = i / G;
  let t = bt % params.Tq;
  let b = bt / params.Tq;
  let h = c / HD;
  let d = c % HD;
  let src = bt * (C + 2u * G) + C + c;
  let dst = ((b * params.nKvHead + h) * params.capacity + params.past + t) * HD + d;
  kCache[dst] = qkv[src];
  vCache[dst] = qkv[src + G];
}
