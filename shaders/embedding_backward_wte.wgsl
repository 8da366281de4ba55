// Token embedding gradient as a gather, not a scatter: dwte[v, c] = Σ_{p ∈ positions of token v} dout[p, c].
// The positions of each token id come as a CSR built on the CPU (offsets (V+1), positions (B·T), ascending
// within each id), so every sum runs in a fixed order: no float atomics, the same bits on every run.
// Rows of ids that do not occur get zeros.
// bindings: dout (B·T, C), offsets i32 (V+1), positions i32 (B·T), dwte (V, C); uniform.
// Dispatch: ceil(V·C / WG) workgroups, split over x and y when above 65535.

struct Params { count: u32, channels: u32, }

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> offsets: array<i32>;
@group(0) @binding(2) var<storage, read> positions: array<i32>;
@group(0) @binding(3) var<storage, read_write> dwte: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let v = i / params.channels;
  let c = i - v * params.channels;
  let end = offsets[v + 1u];
  var s = 0.0;
  for (var k = offsets[v]; k < end; k = k + 1i) {
    s = s + dout[u32(positions[k]) * params.channels + c];
  }
  dwte[i] = s;
}
