// LayerNorm backward for x. With x̂ = (x − mean)·rstd and g = dy·weight:
//   dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))
// Row layout and variants as layernorm.wgsl: ROW_THREADS threads per row, ROWS_PER_WG rows per workgroup.
// bindings: x (rows, cols), weight (cols), mean (rows), rstd (rows), dy (rows, cols), dx (rows, cols); uniform.
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
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
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let lane = lid.x;
  let slot = lid.y;
  let row_unclamped = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + slot;
  let in_range = row_unclamped < params.rows;
  let row = min(row_unclamped, params.rows - 1u);
  let cols = params.cols;
  let base = row * cols;
  let mu = mean[row];
  let r = rstd[row];

  var sum_g = 0.0;
  var sum_g_xhat = 0.0;
  for (var c = lane; c < cols; c = c + ROW_THREADS) {
    let xhat = (x[base + c] - mu) * r;
    let g = dy[base + c] * weight[c];
    sum_g = sum_g + g;
    sum_g_xhat = sum_g_xhat + g * xhat;
  }
  let mean_g = row_sum(lane, slot, sum_g) / f32(cols);
  let mean_g_xhat = row_sum(lane, slot, sum_g_xhat) / f32(cols);

  if (!in_range) { return; }
  for (var c = lane; c < cols; c = c + ROW_THREADS) {
    let xhat = (x[base + c] - mu) * r;
    let g = dy[base + c] * weight[c];
    dx[base + c] = r * (g - mean_g - xhat * mean_g_xhat);
  }
}
