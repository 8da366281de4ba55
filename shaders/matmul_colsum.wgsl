// Column sums of x (rows, cols), row-major: the bias gradient of a matmul, Σ_m dY[m, n].
// One pass folds each run of ROWS_PER_GROUP rows into one row of partial (ceil(rows / ROWS_PER_GROUP),
// cols); the caller repeats it on the partials until one row is left. Every sum is taken in a fixed
// order, so the result is the same bit for bit on every run (no atomics).
// bindings: (x, partial); uniform (rows, cols).
// Dispatch: (ceil(cols / 64), ceil(rows / ROWS_PER_GROUP)) workgroups of 64×4 threads.

struct Params { rows: u32, cols: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const COLS: u32 = 64u;     // columns per workgroup, one per thread along x: reads coalesce along a row
const SLICES: u32 = 4u;    // threads along y, each summing every SLICES-th row of the run
const ROWS_PER_GROUP: u32 = 256u;

var<workgroup> sums: array<f32, COLS * SLICES>;

@compute @workgroup_size(COLS, SLICES)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let col = wid.x * COLS + lid.x;
  let first = wid.y * ROWS_PER_GROUP;
  let end = min(first + ROWS_PER_GROUP, params.rows);
  var s = 0.0;
  if (col < params.cols) {
    for (var r = first + lid.y; r < end; r += SLICES) {
      s += x[r * params.cols + col];
    }
  }
  sums[lid.y * COLS + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < params.cols) {
    var total = sums[lid.x];
    for (var i = 1u; i < SLICES; i++) { total += sums[i * COLS + lid.x]; }
    partial[wid.y * params.cols + col] = total;
  }
}
