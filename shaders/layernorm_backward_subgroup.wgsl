enable subgroups;
// LayerNorm backward for x as layernorm_backward.wgsl (same math, same entry points and bindings), one workgroup
// per row, with both row sums taken at once by subgroupAdd on a vec2 and combined across subgroups as in
// layernorm_subgroup.wgsl.
// Entry points:
//   main      x (for main_add, s), weight, mean, rstd, dy, dx; uniform at 6
//   main_add  the same, then ds at 6 (dx = ds + …); uniform at 7
// Dispatch: rows workgroups, split over x and y when above 65535.

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

// A multiple of every subgroup size WebGPU allows (4..128), so every subgroup is full.
const WG: u32 = 128u;

var<workgroup> subgroup_sums: array<vec2<f32>, WG>;
var<workgroup> row_total: vec2<f32>;

// (mean(g), mean(g·x̂)) over the row, g = dy·weight, x̂ = (x − mean)·rstd.
fn row_means(row: u32, cols: u32, li: u32, sid: u32, sg: u32) -> vec2<f32> {
  let base = row * cols;
  let mu = mean[row];
  let r = rstd[row];
  var sums = vec2(0.0);
  for (var c = li; c < cols; c += WG) {
    let g = dy[base + c] * weight[c];
    sums += vec2(g, g * (x[base + c] - mu) * r);
  }
  let mine = subgroupAdd(sums);
  let leader = subgroupMin(li);
  subgroup_sums[li] = select(vec2(0.0), mine, li == leader);
  workgroupBarrier();
  var t = vec2(0.0);
  if (leader == 0u) {
    for (var k = sid; k < WG; k += sg) { t += subgroup_sums[k]; }
  }
  let total = subgroupAdd(t);
  if (li == 0u) { row_total = total; }
  workgroupBarrier();
  return row_total / f32(cols);
}

fn dx_at(row: u32, cols: u32, c: u32, means: vec2<f32>) -> f32 {
  let i = row * cols + c;
  let r = rstd[row];
  let xhat = (x[i] - mean[row]) * r;
  return r * (dy[i] * weight[c] - means.x - xhat * means.y);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) sg: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let means = row_means(row, params.cols, li, sid, sg);
  for (var c = li; c < params.cols; c += WG) { dx[row * params.cols + c] = dx_at(row, params.cols, c, means); }
}

@compute @workgroup_size(WG)
fn main_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32,
            @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) sg: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params_add.rows) { return; }
  let cols = params_add.cols;
  let means = row_means(row, cols, li, sid, sg);
  for (var c = li; c < cols; c += WG) {
    let i = row * cols + c;
    dx[i] = ds[i] + dx_at(row, cols, c, means);
  }
}
