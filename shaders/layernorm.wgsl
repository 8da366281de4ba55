// LayerNorm forward over the last dim, one workgroup per row:
//   y = (x − mean)·rstd·weight + bias,  rstd = 1/sqrt(var + eps)   (biased variance, as PyTorch)
// The variance is taken about the mean in a second pass over the row (not E[x²] − mean²), which stays
// accurate when activations carry a large offset. mean and rstd are saved for the backward pass.
// bindings: x (rows, cols), weight (cols), bias (cols), y (rows, cols), mean (rows), rstd (rows); uniform.
// Dispatch: one workgroup per row, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, eps: f32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

const WG: u32 = 256u;

var<workgroup> partial: array<f32, WG>;

fn workgroup_sum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] = partial[lid] + partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  // The next reduction overwrites `partial`; every thread must have read the total first.
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let cols = params.cols;
  let base = row * cols;

  var s = 0.0;
  for (var c = lid; c < cols; c = c + WG) { s = s + x[base + c]; }
  let mu = workgroup_sum(lid, s) / f32(cols);

  var q = 0.0;
  for (var c = lid; c < cols; c = c + WG) {
    let d = x[base + c] - mu;
    q = q + d * d;
  }
  let r = 1.0 / sqrt(workgroup_sum(lid, q) / f32(cols) + params.eps);

  for (var c = lid; c < cols; c = c + WG) {
    y[base + c] = (x[base + c] - mu) * r * weight[c] + bias[c];
  }
  if (lid == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}
