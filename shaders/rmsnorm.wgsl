// RMSNorm forward over the last dim (Llama's LlamaRMSNorm, in float32 throughout):
//   y = x·rstd·weight,  rstd = 1/sqrt(mean(x²) + eps)
// rstd is saved for the backward pass. The row's input is the `input` region's: x here; the fused residual add
// (common/rmsnorm_residual_add.wgsl) normalises s = x + residual and writes s.
// Row layout as layernorm.wgsl (kernels/rows.ts): ROW_THREADS threads share a row, ROWS_PER_WG rows per workgroup,
// the row sum is the row_sum region's (row_sum_workgroup, or row_sum_subgroup where the device has subgroups).
// bindings: x (rows, cols), weight (cols), y (rows, cols), rstd (rows), then the input region's (here the uniform).
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, eps: f32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;

// #region input: the row is x; common/rmsnorm_residual_add.wgsl replaces this region for s = x + residual
@group(0) @binding(4) var<uniform> params: Params;

// #include row_input_x
// #endregion input

alias RowSum = f32;
// #include row_layout

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lanes: RowLanes) {
  let row_unclamped = rowOf(wid, nwg, lanes);
  let in_range = row_unclamped < params.rows;
  let row = clampedRow(row_unclamped);
  let lane = lanes.id.x;
  let cols = params.cols;
  let base = row * cols;
  var q = 0.0;
  for (var c = lane; c < cols; c += ROW_THREADS) {
    let v = rowInput(base + c);
    if (in_range) { keepInput(base + c, v); }
    q += v * v;
  }
  let r = inverseSqrt(row_sum(lanes, q) / f32(cols) + params.eps);
  if (!in_range) { return; }
  // Each thread reads back only the elements it kept itself, so no barrier is needed.
  for (var c = lane; c < cols; c += ROW_THREADS) {
    y[base + c] = rowValue(base + c) * r * weight[c];
  }
  if (lane == 0u) { rstd[row] = r; }
}
