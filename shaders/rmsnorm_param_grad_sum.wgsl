// RMSNorm backward for weight, second level: dweight[c] = Σ_chunks partials[chunk, c], chunks in order, so the
// result is deterministic. bindings: partials (chunks, cols), dweight (cols); uniform. Dispatch: ceil(cols / WG).

struct Params { chunks: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.cols) { return; }
  var s = 0.0;
  for (var k = 0u; k < params.chunks; k = k + 1u) { s += partials[k * params.cols + c]; }
  dweight[c] = s;
}
