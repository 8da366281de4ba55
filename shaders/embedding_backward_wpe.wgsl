// Position embedding gradient: dwpe[position + t, c] = Σ_b dout[b, t, c] for t < T, zero for the positions the
// batch did not reach, b in order (deterministic). position is the forward's first position.
// bindings: dout (B·T, C), dwpe (n_positions, C); uniform.
// Dispatch: ceil(n_positions·C / WG) workgroups, split over x and y when above 65535.

struct Params { count: u32, batch: u32, seq_len: u32, channels: u32, position: u32, }

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> dwpe: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let p = i / params.channels;
  let c = i - p * params.channels;
  let t = p - params.position; // wraps past seq_len when p < position
  var s = 0.0;
  if (p >= params.position && t < params.seq_len) {
    let stride = params.seq_len * params.channels;
    for (var b = 0u; b < params.batch; b = b + 1u) {
      s = s + dout[b * stride + t * params.channels + c];
    }
  }
  dwpe[i] = s;
}
