enable subgroups;
// Softmax cross-entropy forward as crossentropy.wgsl (same math, bindings and outputs), one workgroup per row,
// with the (running max, rescaled sum) pairs merged by subgroupMax and subgroupAdd: the subgroups' pairs meet in
// workgroup memory behind one barrier, where the plain variant's tree takes log2(ROW_THREADS) + 1. Nothing
// assumes how invocations map onto subgroups: a subgroup is known by its lowest local index, and the subgroup
// holding invocation 0 merges the rest.
// bindings: logits (rows, V), targets i32 (rows), loss (rows), lse (rows); uniform.
// Dispatch: rows workgroups, split over x and y when above 65535.

struct Params { rows: u32, vocab: u32, }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// A multiple of every subgroup size WebGPU allows (4..128), so every subgroup is full.
const WG: u32 = 128u;
const IGNORE_INDEX: i32 = -100i; // Hugging Face's ignore_index, set by the caller (kernels/crossentropy)
// A quiet NaN's bits; a `var` because WGSL refuses a NaN made by a constant expression.
var<private> nan_bits: u32 = 0x7fc00000u;
// Lowest finite f32: a start for the running max that, unlike −inf, never makes exp(−inf − (−inf)) = NaN.
const LOWEST: f32 = -3.4028234663852886e38;

var<workgroup> subgroup_pairs: array<vec2<f32>, WG>;

// Merges (max, sum) pairs across a subgroup: the sum rescaled to the common max.
fn subgroup_merge(pair: vec2<f32>) -> vec2<f32> {
  let m = subgroupMax(pair.x);
  return vec2(m, subgroupAdd(pair.y * exp(pair.x - m)));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) sg: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let vocab = params.vocab;
  let base = row * vocab;

  var m = LOWEST;
  var s = 0.0;
  for (var j = li; j < vocab; j += WG) {
    let v = logits[base + j];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s = s + exp(v - m);
    }
  }
  let mine = subgroup_merge(vec2(m, s));
  let leader = subgroupMin(li);
  subgroup_pairs[li] = select(vec2(LOWEST, 0.0), mine, li == leader);
  workgroupBarrier();
  var acc = vec2(LOWEST, 0.0);
  if (leader == 0u) {
    for (var k = sid; k < WG; k += sg) {
      let p = subgroup_pairs[k];
      let mm = max(acc.x, p.x);
      acc = vec2(mm, acc.y * exp(acc.x - mm) + p.y * exp(p.x - mm));
    }
  }
  let total = subgroup_merge(acc);

  if (li == 0u) {
    let row_lse = total.x + log(total.y);
    lse[row] = row_lse;
    let t = targets[row];
    if (t == IGNORE_INDEX) {
      loss[row] = 0.0;
    } else if (t < 0i || u32(t) >= vocab) {
      loss[row] = bitcast<f32>(nan_bits);
    } else {
      loss[row] = row_lse - logits[base + u32(t)];
    }
  }
}
