// LayerNorm backward for weight and bias, first level: column sums over a chunk of rows.
//   WITH_XHAT: partials[chunk, c] = Σ_rows dy·x̂   (weight's gradient, x̂ = (x − mean)·rstd)
//   otherwise: partials[chunk, c] = Σ_rows dy     (bias's gradient)
// Each sum runs in a fixed order (no atomics), so the gradient is the same bit for bit on every run.
// layernorm_param_grad_sum.wgsl then adds the chunks. Splitting the rows into chunks gives a GPU
// enough workgroups when there are few columns.
// bindings: x (rows, cols), mean (rows), rstd (rows), dy (rows, cols), partials (chunks, cols); uniform.
// Without WITH_XHAT, x, mean and rstd are still bound (the pipeline layout needs them) but not read.
// Variants: 32×8 threads per tile for GPUs; ROW_LANES = 1 (no barrier) for CPU emulation.
// Dispatch: (ceil(cols / TILE_COLS), ceil(rows / ROWS_PER_CHUNK)).

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const WITH_XHAT = true;
const TILE_COLS: u32 = 32u;
const ROW_LANES: u32 = 8u;
const ROWS_PER_CHUNK: u32 = 128u;

var<workgroup> tile: array<array<f32, TILE_COLS>, ROW_LANES>;

@compute @workgroup_size(TILE_COLS, ROW_LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let cols = params.cols;
  let c = wid.x * TILE_COLS + lid.x;
  let row_start = wid.y * ROWS_PER_CHUNK;
  let row_end = min(row_start + ROWS_PER_CHUNK, params.rows);

  var acc = 0.0;
  if (c < cols) {
    for (var r = row_start + lid.y; r < row_end; r = r + ROW_LANES) {
      let g = dy[r * cols + c];
      if (WITH_XHAT) {
        acc = acc + g * (x[r * cols + c] - mean[r]) * rstd[r];
      } else {
        acc = acc + g;
      }
    }
  }
  if (ROW_LANES == 1u) {
    if (c < cols) { partials[wid.y * cols + c] = acc; }
    return;
  }
  tile[lid.y][lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && c < cols) {
    var s = 0.0;
    for (var k = 0u; k < ROW_LANES; k = k + 1u) { s = s + tile[k][lid.x]; }
    partials[wid.y * cols + c] = s;
  }
}
