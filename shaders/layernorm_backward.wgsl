// LayerNorm backward for x. With x̂ = (x − mean)·rstd and g = dy·weight:
//   dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))
// The backward of the fused residual add (layernorm.wgsl with common/layernorm_residual_add.wgsl: s = x + residual,
// y = LN(s)) replaces the `output` region with common/layernorm_backward_residual_add.wgsl: the gradient reaching s
// from the residual stream, ds, is added, dx = ds + rstd·(…), and serves x and the residual branch alike.
// Row layout, variants and the row_sum region as layernorm.wgsl: ROW_THREADS threads per row, ROWS_PER_WG rows per
// workgroup; both row sums are taken at once, as a vec2.
// bindings: x (rows, cols; with the residual add, s), weight (cols), mean (rows), rstd (rows), dy (rows, cols),
// dx (rows, cols), then the output region's (here the uniform).
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

// #region output: dx alone; common/layernorm_backward_residual_add.wgsl replaces this region to add ds
@group(0) @binding(6) var<uniform> params: Params;

// dx[i] from LayerNorm's part of it.
fn dxOf(i: u32, v: f32) -> f32 { return v; }
// #endregion output

alias RowSum = vec2<f32>;
// #include row_layout

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lanes: RowLanes) {
  let row_unclamped = rowOf(wid, nwg, lanes);
  let row = clampedRow(row_unclamped);
  let lane = lanes.id.x;
  let cols = params.cols;
  let base = row * cols;
  let mu = mean[row];
  let r = rstd[row];
  // (mean(g), mean(g·x̂)) over the row.
  var sums = vec2(0.0);
  for (var c = lane; c < cols; c += ROW_THREADS) {
    let g = dy[base + c] * weight[c];
    sums += vec2(g, g * (x[base + c] - mu) * r);
  }
  let means = row_sum(lanes, sums) / f32(cols);
  if (row_unclamped >= params.rows) { return; }
  for (var c = lane; c < cols; c += ROW_THREADS) {
    let i = base + c;
    let xhat = (x[i] - mu) * r;
    dx[i] = dxOf(i, r * (dy[i] * weight[c] - means.x - xhat * means.y));
  }
}
