// LayerNorm forward over the last dim:
//   y = (x − mean)·rstd·weight + bias,  rstd = 1/sqrt(var + eps)   (biased variance, as PyTorch)
// The variance is taken about the mean in a second pass over the row (not E[x²] − mean²), which stays
// accurate when activations carry a large offset. mean and rstd are saved for the backward pass.
// ROW_THREADS threads share a row and combine their sums in workgroup memory; ROWS_PER_WG rows per
// workgroup. Variants: (256, 1) for GPUs; (1, 16), one thread per row and no barrier, for CPU emulation.
// bindings: x (rows, cols), weight (cols), bias (cols), y (rows, cols), mean (rows), rstd (rows); uniform.
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, eps: f32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

const ROW_THREADS: u32 = 256u; // a power of two
const ROWS_PER_WG: u32 = 1u;

var<workgroup> partial: array<array<f32, ROW_THREADS>, ROWS_PER_WG>;

fn row_sum(lane: u32, slot: u32, value: f32) -> f32 {
  if (ROW_THREADS == 1u) { return value; }
  partial[slot][lane] = value;
  workgroupBarrier();
  for (var stride = ROW_THREADS / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) { partial[slot][lane] = partial[slot][lane] + partial[slot][lane + stride]; }
    workgroupBarrier();
  }
  let total = partial[slot][0];
  // The next reduction overwrites `partial`; every thread must have read the total first.
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let lane = lid.x;
  let slot = lid.y;
  let row_unclamped = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + slot;
  // Threads past the last row work on the last row (all must meet the barriers) but write nothing.
  let in_range = row_unclamped < params.rows;
  let row = min(row_unclamped, params.rows - 1u);
  let cols = params.cols;
  let base = row * cols;

  var s = 0.0;
  for (var c = lane; c < cols; c = c + ROW_THREADS) { s = s + x[base + c]; }
  let mu = row_sum(lane, slot, s) / f32(cols);

  var q = 0.0;
  for (var c = lane; c < cols; c = c + ROW_THREADS) {
    let d = x[base + c] - mu;
    q = q + d * d;
  }
  let r = 1.0 / sqrt(row_sum(lane, slot, q) / f32(cols) + params.eps);

  if (!in_range) { return; }
  for (var c = lane; c < cols; c = c + ROW_THREADS) {
    y[base + c] = (x[base + c] - mu) * r * weight[c] + bias[c];
  }
  if (lane == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}
