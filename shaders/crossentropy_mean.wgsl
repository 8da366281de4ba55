// The mean next-token loss: out[0] = Σ_rows loss[row] · inv_count, by one workgroup in a fixed order, so the
// loss is the same bit for bit on every run. inv_count = 1 / (targets that are not −100), from the CPU.
// bindings: loss (rows), out (1); uniform. Dispatch: 1 workgroup.

struct Params { rows: u32, inv_count: f32, }

@group(0) @binding(0) var<storage, read> loss: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var k = lid; k < params.rows; k += WG) { s += loss[k]; }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] = partial[lid] + partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = partial[0] * params.inv_count; }
}
