// Causal self-attention backward, pass 1 of 3 (FlashAttention-2's preprocessing):
//   delta[b, h, t] = Σ_d dout[b, t, h·HD + d] · out[b, t, h·HD + d]  −  dlse[b, h, t]
// Σ_j p_ij·dp_ij equals rowsum(dO ∘ O), so the dQ and dK/dV passes get it without a T×T matrix.
// The dlse term makes the logsumexp output differentiable too (tfjs hands us zeros when it is unused):
// since ∂lse_i/∂s_ij = p_ij, it only shifts each row's delta.
// bindings: out (B·T·C), dout (B·T·C), dlse (B·nh·T), delta (B·nh·T); uniform (T, nHead, rowCount = B·nh·T).
// Dispatch: ceil(rowCount / 64) workgroups, split over x and y when above 65535.

struct Params { T: u32, nHead: u32, rowCount: u32, }

@group(0) @binding(0) var<storage, read> out: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> dlse: array<f32>;
@group(0) @binding(3) var<storage, read_write> delta: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const HD: u32 = 64u;
const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG; // r = bh·T + t
  if (r >= params.rowCount) { return; }
  let T = params.T;
  let bh = r / T;
  let t = r % T;
  let b = bh / params.nHead;
  let h = bh % params.nHead;
  let base = (b * T + t) * params.nHead * HD + h * HD;
  var s = 0.0;
  for (var d = 0u; d < HD; d++) { s += dout[base + d] * out[base + d]; }
  delta[r] = s - dlse[r];
}
