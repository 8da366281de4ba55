// LayerNorm backward for weight and bias, first level: column sums over a chunk of rows, both at once.
//   partials_w[chunk, c] = Σ_rows dy·x̂   (weight's gradient, x̂ = (x − mean)·rstd)
//   partials_b[chunk, c] = Σ_rows dy     (bias's gradient)
// Each sum runs in a fixed order (no atomics), so the gradient is the same bit for bit on every run.
// layernorm_param_grad_sum.wgsl then adds the chunks. Splitting the rows into chunks gives a GPU
// enough workgroups when there are few columns.
// bindings: x (rows, cols), mean (rows), rstd (rows), dy (rows, cols), partials_w, partials_b (chunks, cols);
// uniform. Variants: 32×8 threads per tile for GPUs; ROW_LANES = 1 (no barrier) for CPU emulation.
// Dispatch: (ceil(cols / TILE_COLS), ceil(rows / ROWS_PER_CHUNK)).

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials_w: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials_b: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

const TILE_COLS: u32 = 32u;
const ROW_LANES: u32 = 8u;
const ROWS_PER_CHUNK: u32 = 128u;

alias ColSum = vec2<f32>;
// #include column_lanes_sum

@compute @workgroup_size(TILE_COLS, ROW_LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let cols = params.cols;
  let c = wid.x * TILE_COLS + lid.x;
  let row_start = wid.y * ROWS_PER_CHUNK;
  let row_end = min(row_start + ROWS_PER_CHUNK, params.rows);

  var acc = vec2(0.0); // (Σ dy·x̂, Σ dy)
  if (c < cols) {
    for (var r = row_start + lid.y; r < row_end; r = r + ROW_LANES) {
      let g = dy[r * cols + c];
      acc += vec2(g * (x[r * cols + c] - mean[r]) * rstd[r], g);
    }
  }
  let total = columnLanesSum(lid, acc);
  if (lid.y == 0u && c < cols) {
    partials_w[wid.y * cols + c] = total.x;
    partials_b[wid.y * cols + c] = total.y;
  }
}
