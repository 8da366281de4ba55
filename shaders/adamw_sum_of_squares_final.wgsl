// Global gradient norm, second level: out[0] = Σ partials (or its square root, the norm, when SQRT), by one
// workgroup in a fixed order.
// bindings: partials (count), out (1); uniform. Dispatch: 1 workgroup.

struct Params { count: u32, }

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;
const SQRT = false;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var k = lid; k < params.count; k = k + WG) { s = s + partials[k]; }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] = partial[lid] + partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = select(partial[0], sqrt(partial[0]), SQRT); }
}
