// Token + position embedding, fused: out[b, t, :] = wte[tokens[b·T + t], :] + wpe[position + t, :], where position
// is the first token's position (0 for a whole sequence; the tokens already cached when decoding).
// bindings: tokens i32 (B·T), wte (V, C), wpe (n_positions, C), out (B·T, C); uniform.
// Token ids were checked against V on the CPU before upload.
// Dispatch: ceil(B·T·C / WG) workgroups, split over x and y when above 65535.

struct Params { count: u32, seq_len: u32, channels: u32, position: u32, }

@group(0) @binding(0) var<storage, read> tokens: array<i32>;
@group(0) @binding(1) var<storage, read> wte: array<f32>;
@group(0) @binding(2) var<storage, read> wpe: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let row = i / params.channels;
  let c = i - row * params.channels;
  let t = row % params.seq_len;
  out[i] = wte[u32(tokens[row]) * params.channels + c] + wpe[(params.position + t) * params.channels + c];
}
