// LayerNorm forward over the last dim:
//   y = (x − mean)·rstd·weight + bias,  rstd = 1/sqrt(var + eps)   (biased variance, as PyTorch)
// main_add first adds the residual branch, s = x + residual, writes s (the residual stream goes on) and
// normalises s: GPT-2's `x = x + attn(...); m = ln_2(x)` in one pass instead of an add kernel and a read back.
// The variance is taken about the mean in a second pass over the row (not E[x²] − mean²), which stays
// accurate when activations carry a large offset. mean and rstd are saved for the backward pass.
// ROW_THREADS threads share a row and combine their sums in workgroup memory; ROWS_PER_WG rows per
// workgroup. Variants: (256, 1) for GPUs; (1, 16), one thread per row and no barrier, for CPU emulation.
// (layernorm_subgroup.wgsl is the variant that reduces with subgroup operations.)
// Entry points (a resource interface is per entry point, so the two share binding numbers):
//   main      x, weight, bias, y, mean, rstd (rows, cols | cols | cols | rows, cols | rows | rows); uniform at 6
//   main_add  the same, then residual (rows, cols) at 6 and s (rows, cols) at 7; uniform at 8
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, eps: f32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

@group(0) @binding(6) var<storage, read> residual: array<f32>;
@group(0) @binding(7) var<storage, read_write> s: array<f32>;
@group(0) @binding(8) var<uniform> params_add: Params;

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

struct RowPlace { row: u32, lane: u32, slot: u32, in_range: bool, }

// Threads past the last row work on the last row (all must meet the barriers) but write nothing.
fn place(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, rows: u32) -> RowPlace {
  let row_unclamped = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lid.y;
  return RowPlace(min(row_unclamped, rows - 1u), lid.x, lid.y, row_unclamped < rows);
}

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let p = place(wid, nwg, lid, params.rows);
  let cols = params.cols;
  let base = p.row * cols;
  var sum = 0.0;
  for (var c = p.lane; c < cols; c += ROW_THREADS) { sum += x[base + c]; }
  let mu = row_sum(p.lane, p.slot, sum) / f32(cols);
  var q = 0.0;
  for (var c = p.lane; c < cols; c += ROW_THREADS) {
    let d = x[base + c] - mu;
    q += d * d;
  }
  let r = 1.0 / sqrt(row_sum(p.lane, p.slot, q) / f32(cols) + params.eps);
  if (!p.in_range) { return; }
  for (var c = p.lane; c < cols; c += ROW_THREADS) {
    y[base + c] = (x[base + c] - mu) * r * weight[c] + bias[c];
  }
  if (p.lane == 0u) {
    mean[p.row] = mu;
    rstd[p.row] = r;
  }
}

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
  let p = place(wid, nwg, lid, params_add.rows);
  let cols = params_add.cols;
  let base = p.row * cols;
  // Each thread reads back only the elements of s it wrote itself, so no barrier is needed between the passes.
  var sum = 0.0;
  for (var c = p.lane; c < cols; c += ROW_THREADS) {
    let v = x[base + c] + residual[base + c];
    if (p.in_range) { s[base + c] = v; }
    sum += v;
  }
  let mu = row_sum(p.lane, p.slot, sum) / f32(cols);
  var q = 0.0;
  for (var c = p.lane; c < cols; c += ROW_THREADS) {
    let d = x[base + c] + residual[base + c] - mu;
    q += d * d;
  }
  let r = 1.0 / sqrt(row_sum(p.lane, p.slot, q) / f32(cols) + params_add.eps);
  if (!p.in_range) { return; }
  for (var c = p.lane; c < cols; c += ROW_THREADS) {
    y[base + c] = (s[base + c] - mu) * r * weight[c] + bias[c];
  }
  if (p.lane == 0u) {
    mean[p.row] = mu;
    rstd[p.row] = r;
  }
}
