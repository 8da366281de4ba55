// RMSNorm backward for weight, first level: column sums over a chunk of rows,
//   partials[chunk, c] = Σ_rows dy·x̂,  x̂ = x·rstd
// in a fixed order (common/column_lanes_sum.wgsl; no atomics), so the gradient is the same bit for bit on every run.
// rmsnorm_param_grad_sum.wgsl then adds the chunks. Splitting the rows into chunks gives a GPU enough workgroups.
// bindings: x (rows, cols), rstd (rows), dy (rows, cols), partials (chunks, cols); uniform.
// Variants as layernorm_param_grad_partials.wgsl. Dispatch: (ceil(cols / TILE_COLS), ceil(rows / ROWS_PER_CHUNK)).

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rstd: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const TILE_COLS: u32 = 32u;
const ROW_LANES: u32 = 8u;
const ROWS_PER_CHUNK: u32 = 128u;

alias ColSum = f32;
// #include column_lanes_sum

@compute @workgroup_size(TILE_COLS, ROW_LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let cols = params.cols;
  let c = wid.x * TILE_COLS + lid.x;
  let row_start = wid.y * ROWS_PER_CHUNK;
  let row_end = min(row_start + ROWS_PER_CHUNK, params.rows);
  var acc = 0.0;
  if (c < cols) {
    for (var r = row_start + lid.y; r < row_end; r = r + ROW_LANES) {
      acc += dy[r * cols + c] * x[r * cols + c] * rstd[r];
    }
  }
  let total = columnLanesSum(lid, acc);
  if (lid.y == 0u && c < cols) { partials[wid.y * cols + c] = total; }
}
