// LayerNorm backward for x, one workgroup per row. With x̂ = (x − mean)·rstd and g = dy·weight:
//   dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))
// bindings: x (rows, cols), weight (cols), mean (rows), rstd (rows), dy (rows, cols), dx (rows, cols); uniform.
// Dispatch: one workgroup per row, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
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
  let mu = mean[row];
  let r = rstd[row];

  var sum_g = 0.0;
  var sum_g_xhat = 0.0;
  for (var c = lid; c < cols; c = c + WG) {
    let xhat = (x[base + c] - mu) * r;
    let g = dy[base + c] * weight[c];
    sum_g = sum_g + g;
    sum_g_xhat = sum_g_xhat + g * xhat;
  }
  let mean_g = workgroup_sum(lid, sum_g) / f32(cols);
  let mean_g_xhat = workgroup_sum(lid, sum_g_xhat) / f32(cols);

  for (var c = lid; c < cols; c = c + WG) {
    let xhat = (x[base + c] - mu) * r;
    let g = dy[base + c] * weight[c];
    dx[base + c] = r * (g - mean_g - xhat * mean_g_xhat);
  }
}
