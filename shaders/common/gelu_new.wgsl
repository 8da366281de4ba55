// Include fragment (`// #include gelu_new`): GPT-2's GELU (`gelu_new`, the tanh approximation) and its derivative,
// for gelu.wgsl, gelu_backward.wgsl and the matmul's GELU epilogue: the default of their `gelu` region, which
// common/gelu_exact.wgsl (the same two functions) replaces for the exact GELU.
//   gelu_new(v) = 0.5·v·(1 + tanh(u)),  u = √(2/π)·(v + 0.044715·v³)
// Both are written with s = σ(2u) = 0.5·(1 + tanh(u)): `1 + tanh(u)` loses every digit to cancellation in the far
// negative tail in f32, while σ keeps its relative accuracy there (exp(−2u) → ∞ just gives −0).

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

fn gelu(v: f32) -> f32 {
  let u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
  return v / (1.0 + exp(-2.0 * u));
}

// d/dv gelu_new(v) = 0.5·(1 + t) + 0.5·v·(1 − t²)·√(2/π)·(1 + 3·0.044715·v²),  t = tanh(u),
// where 1 − t² = 4·s·(1 − s).
fn geluDerivative(v: f32) -> f32 {
  let u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
  let s = 1.0 / (1.0 + exp(-2.0 * u));
  let du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
  return s + 2.0 * v * s * (1.0 - s) * du;
}
