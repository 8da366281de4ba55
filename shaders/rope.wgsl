// Rotary position embedding (RoPE) in Hugging Face's rotate_half convention, forward and backward in one kernel.
// Per head, for i < R/2 (R = rotary_dim, HALF = R/2), with a = pos·inv_freq[i] in f32, pos = position + t (or, packed
// rows, the token's own position, common/rope_positions.wgsl):
//   y[i]        = x[i]·cos a − x[i + HALF]·sin a
//   y[i + HALF] = x[i + HALF]·cos a + x[i]·sin a
// and dims ≥ R pass through (GPT-NeoX's partial rotary). The backward is the rotation by −a: direction = −1.
// x is (rows, heads·head_dim) with rows = B·T, row = b·T + t; a query or key tensor (or its gradient).
// Each thread takes one rotated pair (i, i + HALF) or one passed-through element: head_dim − HALF threads per head.
// bindings: x, inv_freq (HALF), y (rows, heads·head_dim); uniform.
// Dispatch: ceil(n / WG) workgroups, n = rows·heads·(head_dim − HALF), split over x and y when above 65535.

struct Params {
  n: u32,
  seq_len: u32,
  heads: u32,
  head_dim: u32,
  rotary_dim: u32,
  position: u32,
  direction: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// #region positions: row t of each sequence at position + t; common/rope_positions.wgsl replaces this for packed rows
@group(0) @binding(3) var<uniform> params: Params;

// The position of row `row` (b·T + t).
fn positionOf(row: u32) -> u32 { return params.position + row % params.seq_len; }
// #endregion positions

const WG: u32 = 256u;

// cos and sin of the angle, to about 2e-7 absolute, on every device: the builtins' accuracy is the implementation's
// (SwiftShader's are off by ~2e-4, and many GPUs lose digits for angles of thousands of radians, i.e. long contexts).
// The angle is reduced by quarter turns, a − k·π/2 with π/2 in three parts (Cody–Waite: k·PIO2_HI is exact for
// k < 2^16, PIO2_HI having 8 significant bits; k·PIO2_MID for k < 2^12), then Cephes' minimax polynomials for sinf
// and cosf on [−π/4, π/4], and the quadrant k mod 4 picks and signs them.
const PIO2_HI: f32 = 1.5703125;
const PIO2_MID: f32 = 0.0004838705062866211;
const PIO2_LO: f32 = -4.371138828673793e-8;
const TWO_OVER_PI: f32 = 0.6366197466850281;

fn cosSin(a: f32) -> vec2<f32> {
  let k = round(a * TWO_OVER_PI);
  let r = ((a - k * PIO2_HI) - k * PIO2_MID) - k * PIO2_LO;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  switch (i32(k) & 3) {
    case 0: { return vec2(c, s); }
    case 1: { return vec2(-s, c); }
    case 2: { return vec2(-c, -s); }
    default: { return vec2(s, -c); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let half = params.rotary_dim / 2u;
  let per_head = params.head_dim - half;
  let j = i % per_head;
  let row_head = i / per_head; // row·heads + head
  let base = row_head * params.head_dim;
  if (j >= half) {
    let k = base + j + half; // a dim ≥ R: passes through
    y[k] = x[k];
    return;
  }
  let cs = cosSin(f32(positionOf(row_head / params.heads)) * inv_freq[j]);
  let s = cs.y * params.direction;
  let x1 = x[base + j];
  let x2 = x[base + j + half];
  y[base + j] = x1 * cs.x - x2 * s;
  y[base + j + half] = x2 * cs.x + x1 * s;
}
