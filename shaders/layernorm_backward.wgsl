// LayerNorm backward for x. With x̂ = (x − mean)·rstd and g = dy·weight:
//   dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))
// main_add is the backward of layernorm.wgsl's main_add (s = x + residual, y = LN(s)): the gradient reaching s
// from the residual stream, ds, is added, dx = ds + rstd·(…), and serves x and the residual branch alike.
// Row layout and variants as layernorm.wgsl: ROW_THREADS threads per row, ROWS_PER_WG rows per workgroup.
// Entry points:
//   main      x (rows, cols; for main_add, s), weight (cols), mean (rows), rstd (rows), dy (rows, cols),
//             dx (rows, cols); uniform at 6
//   main_add  the same, then ds (rows, cols) at 6; uniform at 7
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

@group(0) @binding(6) var<storage, read> ds: array<f32>;
@group(0) @binding(7) var<uniform> params_add: Params;

const ROW_THREADS: u32 = 256u; // a power of two
const ROWS_PER_WG: u32 = 1u;

var<workgroup> partial: array<array<vec2<f32>, ROW_THREADS>, ROWS_PER_WG>;

// Both sums at once: one tree, one set of barriers.
fn row_sum2(lane: u32, slot: u32, value: vec2<f32>) -> vec2<f32> {
  if (ROW_THREADS == 1u) { return value; }
  partial[slot][lane] = value;
  workgroupBarrier();
  for (var stride = ROW_THREADS / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) { partial[slot][lane] = partial[slot][lane] + partial[slot][lane + stride]; }
    workgroupBarrier();
  }
  return partial[slot][0];
}

struct RowPlace { row: u32, lane: u32, slot: u32, in_range: bool, }

fn place(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, rows: u32) -> RowPlace {
  let row_unclamped = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lid.y;
  return RowPlace(min(row_unclamped, rows - 1u), lid.x, lid.y, row_unclamped < rows);
}

// (mean(g), mean(g·x̂)) over the row.
fn row_means(p: RowPlace, cols: u32) -> vec2<f32> {
  let base = p.row * cols;
  let mu = mean[p.row];
  let r = rstd[p.row];
  var sums = vec2(0.0);
  for (var c = p.lane; c < cols; c += ROW_THREADS) {
    let g = dy[base + c] * weight[c];
    sums += vec2(g, g * (x[base + c] - mu) * r);
  }
  return row_sum2(p.lane, p.slot, sums) / f32(cols);
}

fn dx_at(p: RowPlace, cols: u32, c: u32, means: vec2<f32>) -> f32 {
  let i = p.row * cols + c;
  let r = rstd[p.row];
  let xhat = (x[i] - mean[p.row]) * r;
  return r * (dy[i] * weight[c] - means.x - xhat * means.y);
}

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let p = place(wid, nwg, lid, params.rows);
  let means = row_means(p, params.cols);
  if (!p.in_range) { return; }
  for (var c = p.lane; c < params.cols; c += ROW_THREADS) { dx[p.row * params.cols + c] = dx_at(p, params.cols, c, means); }
}

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
  let p = place(wid, nwg, lid, params_add.rows);
  let cols = params_add.cols;
  let means = row_means(p, cols);
  if (!p.in_range) { return; }
  for (var c = p.lane; c < cols; c += ROW_THREADS) {
    let i = p.row * cols + c;
    dx[i] = ds[i] + dx_at(p, cols, c, means);
  }
}
