// Appends the keys and values of Tq new positions to a layer's KV cache.
//
// k and v are read straight from the packed projection qkv (B, Tq, (nHead + 2·nKvHead)·HD), q heads then k heads then
// v heads (GPT-2's c_attn output (B, Tq, 3C) when nKvHead = nHead): kv head g's k is qkv[b, t, nHead·HD + g·HD + d]
// and its v nKvHead·HD further. The caches are (B, nKvHead, CAP, HD), so one head's keys for consecutive positions
// are contiguous: the decode-attention kernel then reads a key (or a value) row as HD consecutive floats.
// New position t lands at row past + t.
//
// bindings: qkv, kCache, vCache (B·nKvHead·CAP·HD); uniform (n = B·Tq·nKvHead·HD, Tq, past, nHead, nKvHead,
// capacity).
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

struct Params { n: u32, Tq: u32, past: u32, nHead: u32, nKvHead: u32, capacity: u32, }

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
  let kvWidth = params.nKvHead * HD;
  let c = i % kvWidth;
  let bt = i / kvWidth;
  let t = bt % params.Tq;
  let b = bt / params.Tq;
  let g = c / HD;
  let d = c % HD;
  let src = bt * (params.nHead * HD + 2u * kvWidth) + params.nHead * HD + c;
  let dst = ((b * params.nKvHead + g) * params.capacity + params.past + t) * HD + d;
  kCache[dst] = qkv[src];
  vCache[dst] = qkv[src + kvWidth];
}
