// LayerNorm backward for weight and bias, second level: dweight[c] = Σ_chunks partials_w[chunk, c] and
// dbias[c] = Σ_chunks partials_b[chunk, c], chunks in order, so the result is deterministic.
// bindings: partials_w, partials_b (chunks, cols), dweight, dbias (cols); uniform. Dispatch: ceil(cols / WG).

struct Params { chunks: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> partials_w: array<f32>;
@group(0) @binding(1) var<storage, read> partials_b: array<f32>;
@group(0) @binding(2) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.cols) { return; }
  var s = vec2(0.0);
  for (var k = 0u; k < params.chunks; k = k + 1u) {
    s += vec2(partials_w[k * params.cols + c], partials_b[k * params.cols + c]);
  }
  dweight[c] = s.x;
  dbias[c] = s.y;
}
