// The tied head for the few rows decoding needs: logits (B, V) = h (B, C) · wteᵀ, with wte (V, C) as stored.
//
// A general tiled matmul spends most of its threads on padding when M is a handful of sequences and N is a
// 50k vocabulary; here each thread owns one vocabulary row, streams its C weights once, and keeps up to MAXB
// sequences' dot products in registers, so the cost is one pass over wte (the lower bound: it is all read).
//
// bindings: h (B·C), wte (V·C), out (B·V); uniform (B, V, C).
// Dispatch: ceil(V / WG) workgroups, split over x and y when above 65535.

struct Params { B: u32, V: u32, C: u32, }

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> wte: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 64u;
// Sequences per pass over a row; more sequences take more passes.
const MAXB: u32 = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let v = gid.x + gid.y * nwg.x * WG;
  if (v >= params.V) { return; }
  let C = params.C;
  let row = v * C;
  for (var b0 = 0u; b0 < params.B; b0 += MAXB) {
    let nb = min(MAXB, params.B - b0);
    // Zeroed explicitly: a bare `var acc: array<f32, MAXB>;` in this loop kept the previous pass's sums on
    // Dawn/SwiftShader, although WGSL says a declaration zero-initialises each time it runs.
    var acc = array<f32, MAXB>();
    for (var c = 0u; c < C; c++) {
      let w = wte[row + c];
      for (var i = 0u; i < nb; i++) { acc[i] += h[(b0 + i) * C + c] * w; }
    }
    for (var i = 0u; i < nb; i++) { out[(b0 + i) * params.V + v] = acc[i]; }
  }
}
