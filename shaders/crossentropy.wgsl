// Softmax cross-entropy forward, fused, one workgroup per row:
//   lse = log Σ_j exp(logits[j]),  loss = lse − logits[target]
// Each thread keeps an online (running max, rescaled sum) over its strided share of the row, so the row
// is read once and no probability matrix is stored; the pairs are then merged across the workgroup.
// target = −100 (Hugging Face's ignore_index) gives loss 0; any other target outside [0, V) gives NaN,
// so a bad label cannot pass unnoticed. lse is saved for the backward pass.
// bindings: logits (rows, V), targets i32 (rows), loss (rows), lse (rows); uniform.
// Dispatch: one workgroup per row, split over x and y when above 65535.

struct Params { rows: u32, vocab: u32, }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 256u;
const IGNORE_INDEX: i32 = -100i;
// A quiet NaN's bits; a `var` because WGSL refuses a NaN made by a constant expression.
var<private> nan_bits: u32 = 0x7fc00000u;
// Lowest finite f32: a start for the running max that, unlike −inf, never makes exp(−inf − (−inf)) = NaN.
const LOWEST: f32 = -3.4028234663852886e38;

var<workgroup> wg_max: array<f32, WG>;
var<workgroup> wg_sum: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let vocab = params.vocab;
  let base = row * vocab;

  var m = LOWEST;
  var s = 0.0;
  for (var j = lid; j < vocab; j = j + WG) {
    let v = logits[base + j];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s = s + exp(v - m);
    }
  }
  wg_max[lid] = m;
  wg_sum[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      let m1 = wg_max[lid];
      let m2 = wg_max[lid + stride];
      let mm = max(m1, m2);
      wg_sum[lid] = wg_sum[lid] * exp(m1 - mm) + wg_sum[lid + stride] * exp(m2 - mm);
      wg_max[lid] = mm;
    }
    workgroupBarrier();
  }

  if (lid == 0u) {
    let row_lse = wg_max[0] + log(wg_sum[0]);
    lse[row] = row_lse;
    let t = targets[row];
    if (t == IGNORE_INDEX) {
      loss[row] = 0.0;
    } else if (t < 0i || u32(t) >= vocab) {
      loss[row] = bitcast<f32>(nan_bits);
    } else {
      loss[row] = row_lse - logits[base + u32(t)];
    }
  }
}
