// Softmax cross-entropy forward, fused:
//   lse = log Σ_j exp(logits[j]),  loss = lse − logits[target]
// Each thread keeps an online (running max, rescaled sum) over its strided share of the row, so the row
// is read once and no probability matrix is stored; the pairs are then merged across the threads of a row.
// target = IGNORE_INDEX (Hugging Face's −100) gives loss 0; any other target outside [0, V) gives NaN,
// so a bad label cannot pass unnoticed. lse is saved for the backward pass.
// ROW_THREADS threads share a row, ROWS_PER_WG rows per workgroup; the pairs are merged by the row_merge region.
// Variants (kernels/crossentropy): (256, 1) merging by a tree in workgroup memory for GPUs; (128, 1) with the region
// replaced by common/crossentropy_merge_subgroup.wgsl for GPUs with subgroups; (1, 16), one thread per row and no
// barrier, for CPU emulation.
// bindings: logits (rows, V), targets i32 (rows), loss (rows), lse (rows); uniform.
// Dispatch: ceil(rows / ROWS_PER_WG) workgroups, split over x and y when above 65535.

struct Params { rows: u32, vocab: u32, }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const ROW_THREADS: u32 = 256u; // a power of two
const ROWS_PER_WG: u32 = 1u;
const IGNORE_INDEX: i32 = -100i; // Hugging Face's ignore_index, set by the caller (kernels/crossentropy)
// A quiet NaN's bits; a `var` because WGSL refuses a NaN made by a constant expression.
var<private> nan_bits: u32 = 0x7fc00000u;
// Lowest finite f32: a start for the running max that, unlike −inf, never makes exp(−inf − (−inf)) = NaN.
const LOWEST: f32 = -3.4028234663852886e38;

// #region row_merge: a tree in workgroup memory; common/crossentropy_merge_subgroup.wgsl replaces it
struct RowLanes {
  @builtin(local_invocation_id) id: vec3<u32>,
}

var<workgroup> wg_max: array<array<f32, ROW_THREADS>, ROWS_PER_WG>;
var<workgroup> wg_sum: array<array<f32, ROW_THREADS>, ROWS_PER_WG>;

// The row's (max, sum) from each thread's pair, the sums rescaled to the common max; valid in lane 0.
fn row_merge(lanes: RowLanes, pair: vec2<f32>) -> vec2<f32> {
  if (ROW_THREADS == 1u) { return pair; }
  let lane = lanes.id.x;
  let slot = lanes.id.y;
  wg_max[slot][lane] = pair.x;
  wg_sum[slot][lane] = pair.y;
  workgroupBarrier();
  for (var stride = ROW_THREADS / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) {
      let m1 = wg_max[slot][lane];
      let m2 = wg_max[slot][lane + stride];
      let mm = max(m1, m2);
      wg_sum[slot][lane] = wg_sum[slot][lane] * exp(m1 - mm) + wg_sum[slot][lane + stride] * exp(m2 - mm);
      wg_max[slot][lane] = mm;
    }
    workgroupBarrier();
  }
  return vec2(wg_max[slot][0], wg_sum[slot][0]);
}
// #endregion row_merge

@compute @workgroup_size(ROW_THREADS, ROWS_PER_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lanes: RowLanes) {
  let lane = lanes.id.x;
  let row_unclamped = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lanes.id.y;
  // Threads past the last row work on the last row (all must meet the barriers) but write nothing.
  let in_range = row_unclamped < params.rows;
  let row = min(row_unclamped, params.rows - 1u);
  let vocab = params.vocab;
  let base = row * vocab;

  var m = LOWEST;
  var s = 0.0;
  for (var j = lane; j < vocab; j = j + ROW_THREADS) {
    let v = logits[base + j];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s = s + exp(v - m);
    }
  }
  let total = row_merge(lanes, vec2(m, s));

  if (lane == 0u && in_range) {
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
