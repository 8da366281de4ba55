// Region replacement for the `gelu` region of gelu.wgsl, gelu_backward.wgsl and common/matmul_epilogue_bias_gelu.wgsl
// (regions: { gelu: include('gelu_exact') }): the exact GELU (PyTorch's nn.GELU(), HF's "gelu", GPT-NeoX's
// hidden_act) in place of gelu_new, with the same function names:
//   gelu(v) = v·Φ(v) = 0.5·v·erfc(−v/√2),   gelu'(v) = Φ(v) + v·φ(v),   φ(v) = exp(−v²/2)/√(2π)
// WGSL has no erf: erfc is Numerical Recipes' Chebyshev fit (fractional error below 1.2e-7 everywhere), written
// as erfc so that the far negative tail keeps its relative accuracy instead of cancelling in 1 + erf.

const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

fn erfc(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}

fn gelu(v: f32) -> f32 { return 0.5 * v * erfc(-v * INV_SQRT_2); }

fn geluDerivative(v: f32) -> f32 { return 0.5 * erfc(-v * INV_SQRT_2) + v * INV_SQRT_2PI * exp(-0.5 * v * v); }
