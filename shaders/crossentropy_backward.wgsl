// Softmax cross-entropy backward, fused, one thread per logit:
//   dlogits[r, j] = dy[r] · (exp(logits[r, j] − lse[r]) − [j == target[r]])
// Rows whose target is −100 (ignore_index) get zeros; a target outside [0, V) gives NaN, as in the forward.
// bindings: logits (rows, V), targets i32 (rows), lse (rows), dy (rows), dlogits (rows, V); uniform.
// Dispatch: (ceil(V / WG), min(rows, 65535)); each workgroup row steps by the grid's height.

struct Params { rows: u32, vocab: u32, }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const WG: u32 = 256u;
const IGNORE_INDEX: i32 = -100i;
// A quiet NaN's bits; a `var` because WGSL refuses a NaN made by a constant expression.
var<private> nan_bits: u32 = 0x7fc00000u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x;
  let vocab = params.vocab;
  if (j >= vocab) { return; }
  for (var row = gid.y; row < params.rows; row = row + nwg.y) {
    let i = row * vocab + j;
    let t = targets[row];
    if (t == IGNORE_INDEX) {
      dlogits[i] = 0.0;
    } else if (t < 0i || u32(t) >= vocab) {
      dlogits[i] = bitcast<f32>(nan_bits);
    } else {
      let p = exp(logits[i] - lse[row]);
      dlogits[i] = dy[row] * (p - select(0.0, 1.0, u32(t) == j));
    }
  }
}
