// The sum of a whole buffer by one workgroup, in a fixed order, so that it is the same bit for bit on every run:
//   out[0] = Σ x · scale,  or sqrt(Σ x) · scale when SQRT
// The second level of the global gradient norm (Σ partials, or its square root) and the mean next-token loss
// (Σ losses · 1/count) are this kernel.
// bindings: x (count), out (1); uniform. Dispatch: 1 workgroup.

struct Params { count: u32, scale: f32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u; // a power of two
const SQRT = false;

// The whole workgroup is one "row".
const ROW_THREADS: u32 = WG;
const ROWS_PER_WG: u32 = 1u;
alias RowSum = f32;
// #include row_sum_workgroup

@compute @workgroup_size(WG)
fn main(lanes: RowLanes) {
  let lid = lanes.id.x;
  var s = 0.0;
  for (var k = lid; k < params.count; k += WG) { s += x[k]; }
  let total = row_sum(lanes, s);
  if (lid == 0u) { out[0] = select(total, sqrt(total), SQRT) * params.scale; }
}
