// f32 → f16, two values per u32: element 2i in the low 16 bits, 2i + 1 in the high 16 bits (the order
// pack2x16float and unpack2x16float use). This is how Hearth's mixed precision stores matmul and attention
// operands: half the bytes of f32 on every adapter, with no `shader-f16` feature needed (pack/unpack are
// core WGSL). An odd count leaves the last high half 0.
//
// pack2x16float's result is indeterminate for values outside f16's finite range, but dynamic loss scaling
// notices an overflow by an infinity reaching the gradients. So values that round past 65504, infinities and
// NaN are encoded from their bits here (±inf, NaN); values in range use the hardware conversion, which
// rounds to one of the two nearest f16 values (f16 subnormals may flush to zero).
// bindings: x (n f32), packed (ceil(n / 2) u32); uniform (n).
// Dispatch: ceil(ceil(n / 2) / WG) workgroups, split over x and y when above 65535.

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;
// |v| from here up rounds past f16's largest finite value, 65504 (65520 is the midpoint to 65536).
const OVERFLOW_BITS: u32 = 0x477ff000u;

fn inRange(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) < OVERFLOW_BITS;
}

// f16 bits of one value, any value.
fn halfBits(v: f32) -> u32 {
  let bits = bitcast<u32>(v);
  let sign = (bits >> 16u) & 0x8000u;
  let magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) { return sign | 0x7e00u; } // NaN stays NaN
  if (magnitude >= OVERFLOW_BITS) { return sign | 0x7c00u; } // overflow and infinity: ±inf
  return pack2x16float(vec2<f32>(v, 0.0)) & 0xffffu;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let words = (params.n + 1u) / 2u;
  if (i >= words) { return; }
  let lo = x[2u * i];
  let hi = select(0.0, x[min(2u * i + 1u, params.n - 1u)], 2u * i + 1u < params.n);
  if (inRange(lo) && inRange(hi)) {
    packed[i] = pack2x16float(vec2<f32>(lo, hi));
  } else {
    packed[i] = halfBits(lo) | (halfBits(hi) << 16u);
  }
}
