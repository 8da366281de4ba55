// RMSNorm backward for x. With x̂ = x·rstd and g = dy·weight:
//   dx = rstd · (g − x̂ · mean(g·x̂))
// The backward of the fused residual add (rmsnorm.wgsl with common/rmsnorm_residual_add.wgsl) replaces the `output`
// region with common/rmsnorm_backward_residual_add.wgsl: dx = ds + rstd·(…), the gradient of x and residual alike.
// Row layout, variants and the row_sum region as rmsnorm.wgsl.
// bindings: x (rows, cols; with the residual add, s), weight (cols), rstd (rows), dy (rows, cols), dx (rows, cols),
// then the output region's (here the uniform).
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// #region output: dx alone; common/rmsnorm_backward_residual_add.wgsl replaces this region to add ds
@group(0) @binding(5) var<uniform> params: Params;

fn dxOf(i: u32, v: f32) -> f32 { return v; }
// #endregion output

alias RowSum = f32;
// #include row_layout

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lanes: RowLanes) {
  let row_unclamped = rowOf(wid, nwg, lanes);
  let row = clampedRow(row_unclamped);
  let lane = lanes.id.x;
  let cols = params.cols;
  let base = row * cols;
  let r = rstd[row];
  var sum = 0.0; // Σ g·x̂ over the row
  for (var c = lane; c < cols; c += ROW_THREADS) {
    sum += dy[base + c] * weight[c] * x[base + c] * r;
  }
  let m = row_sum(lanes, sum) / f32(cols);
  if (row_unclamped >= params.rows) { return; }
  for (var c = lane; c < cols; c += ROW_THREADS) {
    let i = base + c;
    dx[i] = dxOf(i, r * (dy[i] * weight[c] - x[i] * r * m));
  }
}
