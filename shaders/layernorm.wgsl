// LayerNorm forward over the last dim:
//   y = (x − mean)·rstd·weight + bias,  rstd = 1/sqrt(var + eps)   (biased variance, as PyTorch)
// The variance is taken about the mean in a second pass over the row (not E[x²] − mean²), which stays
// accurate when activations carry a large offset. mean and rstd are saved for the backward pass.
// The row's input is the `input` region's: x here; the fused residual add (common/layernorm_residual_add.wgsl)
// normalises s = x + residual and writes s, GPT-2's `x = x + attn(...); m = ln_2(x)` in one pass instead of an add
// kernel and a read back.
// ROW_THREADS threads share a row, ROWS_PER_WG rows per workgroup; the row sums are the row_sum region's. Variants
// (kernels/layernorm): (256, 1) summed in workgroup memory for GPUs; (128, 1) with the region replaced by
// row_sum_subgroup for GPUs with subgroups; (1, 16), one thread per row and no barrier, for CPU emulation.
// bindings: x, weight, bias, y, mean, rstd (rows, cols | cols | cols | rows, cols | rows | rows), then the input
// region's (here the uniform).
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, eps: f32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;

// #region input: the row is x; common/layernorm_residual_add.wgsl replaces this region for s = x + residual
@group(0) @binding(6) var<uniform> params: Params;

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
  // Each thread reads back only the elements it kept itself, so no barrier is needed between the passes.
  var sum = 0.0;
  for (var c = lane; c < cols; c += ROW_THREADS) {
    let v = rowInput(base + c);
    if (in_range) { keepInput(base + c, v); }
    sum += v;
  }
  let mu = row_sum(lanes, sum) / f32(cols);
  var q = 0.0;
  for (var c = lane; c < cols; c += ROW_THREADS) {
    let d = rowInput(base + c) - mu;
    q += d * d;
  }
  let r = 1.0 / sqrt(row_sum(lanes, q) / f32(cols) + params.eps);
  if (!in_range) { return; }
  for (var c = lane; c < cols; c += ROW_THREADS) {
    y[base + c] = (rowValue(base + c) - mu) * r * weight[c] + bias[c];
  }
  if (lane == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}
