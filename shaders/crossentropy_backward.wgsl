// Softmax cross-entropy backward, fused, one thread per logit:
//   dlogits[r, j] = dy[r] · (exp(logits[r, j] − lse[r]) − [j == target[r]])
// With MEAN the forward was the mean over rows (crossentropy_mean: sum.wgsl): dy is one value, dy[0] · scale per row.
// Rows whose target is −100 (ignore_index) get zeros; a target outside [0, V) gives NaN, as in the forward.
// Flat indexing with selects rather than branches and a loop over rows: on SwiftShader it ran ~1.5× faster.
// bindings: logits (rows, V), targets i32 (rows), lse (rows), dy (rows, or 1 with MEAN), dlogits (rows, V); uniform.
// Dispatch: ceil(rows·V / WG) workgroups, split over x and y when above 65535.

struct Params { count: u32, vocab: u32, scale: f32, }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const WG: u32 = 256u;
const MEAN = false;
const IGNORE_INDEX: i32 = -100i; // Hugging Face's ignore_index, set by the caller (kernels/crossentropy)
// A quiet NaN's bits; a `var` because WGSL refuses a NaN made by a constant expression.
var<private> nan_bits: u32 = 0x7fc00000u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let row = i / params.vocab;
  let j = i - row * params.vocab;
  let t = targets[row];
  let p = exp(logits[i] - lse[row]);
  var dy_row: f32;
  if (MEAN) { dy_row = dy[0] * params.scale; } else { dy_row = dy[row]; }
  var d = dy_row * (p - select(0.0, 1.0, u32(t) == j));
  d = select(d, bitcast<f32>(nan_bits), t != IGNORE_INDEX && (t < 0i || u32(t) >= params.vocab));
  dlogits[i] = select(d, 0.0, t == IGNORE_INDEX);
}
