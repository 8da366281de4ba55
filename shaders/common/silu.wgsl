// Include fragment (`// #include silu`): SiLU (PyTorch's F.silu, Llama's hidden_act "silu"), silu(g) = g·σ(g), and
// its derivative σ(g)·(1 + g·(1 − σ(g))), for swiglu.wgsl and swiglu_backward.wgsl. σ's exp overflows to +inf for
// very negative g, which gives σ = 0 exactly (and silu = −0), never NaN.

fn sigmoid(g: f32) -> f32 { return 1.0 / (1.0 + exp(-g)); }

fn silu(g: f32) -> f32 { return g * sigmoid(g); }

fn siluDerivative(g: f32) -> f32 {
  let s = sigmoid(g);
  return s * (1.0 + g * (1.0 - s));
}
