enable subgroups;
// LayerNorm forward as layernorm.wgsl (same math, same entry points and bindings), one workgroup per row, with
// the row sums taken by subgroupAdd: the subgroups' sums meet in workgroup memory behind two barriers per sum,
// where the plain variant's tree takes log2(ROW_THREADS) + 1. Nothing assumes how invocations map onto
// subgroups: a subgroup is known by its lowest local index, and the subgroup holding invocation 0 adds the rest.
// Entry points:
//   main      x, weight, bias, y, mean, rstd; uniform at 6
//   main_add  the same, then residual at 6 and s = x + residual at 7; uniform at 8
// Dispatch: rows workgroups, split over x and y when above 65535.

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

// A multiple of every subgroup size WebGPU allows (4..128), so every subgroup is full.
const WG: u32 = 128u;

var<workgroup> subgroup_sums: array<f32, WG>;
var<workgroup> row_total: f32;

struct Lane { li: u32, sid: u32, sg: u32, }

fn row_sum(l: Lane, value: f32) -> f32 {
  let mine = subgroupAdd(value);
  let leader = subgroupMin(l.li);
  subgroup_sums[l.li] = select(0.0, mine, l.li == leader);
  workgroupBarrier();
  var t = 0.0;
  if (leader == 0u) {
    for (var k = l.sid; k < WG; k += l.sg) { t += subgroup_sums[k]; }
  }
  let total = subgroupAdd(t);
  if (l.li == 0u) { row_total = total; }
  workgroupBarrier();
  return row_total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) sg: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let l = Lane(li, sid, sg);
  let cols = params.cols;
  let base = row * cols;
  var sum = 0.0;
  for (var c = li; c < cols; c += WG) { sum += x[base + c]; }
  let mu = row_sum(l, sum) / f32(cols);
  var q = 0.0;
  for (var c = li; c < cols; c += WG) {
    let d = x[base + c] - mu;
    q += d * d;
  }
  let r = 1.0 / sqrt(row_sum(l, q) / f32(cols) + params.eps);
  for (var c = li; c < cols; c += WG) {
    y[base + c] = (x[base + c] - mu) * r * weight[c] + bias[c];
  }
  if (li == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}

@compute @workgroup_size(WG)
fn main_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32,
            @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) sg: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params_add.rows) { return; }
  let l = Lane(li, sid, sg);
  let cols = params_add.cols;
  let base = row * cols;
  // Each invocation reads back only the elements of s it wrote itself.
  var sum = 0.0;
  for (var c = li; c < cols; c += WG) {
    let v = x[base + c] + residual[base + c];
    s[base + c] = v;
    sum += v;
  }
  let mu = row_sum(l, sum) / f32(cols);
  var q = 0.0;
  for (var c = li; c < cols; c += WG) {
    let d = s[base + c] - mu;
    q += d * d;
  }
  let r = 1.0 / sqrt(row_sum(l, q) / f32(cols) + params_add.eps);
  for (var c = li; c < cols; c += WG) {
    y[base + c] = (s[base + c] - mu) * r * weight[c] + bias[c];
  }
  if (li == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}
