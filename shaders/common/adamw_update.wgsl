// Include fragment (`// #include adamw_update`): AdamW's update of one element, PyTorch's torch.optim.AdamW
// (decoupled weight decay), for adamw.wgsl and adamw_multi_tensor.wgsl:
//   m' = β1·m + (1 − β1)·g,   v' = β2·v + (1 − β2)·g²
//   p' = p·decay − step_size · m' / (sqrt(v')·inv_sqrt_bc2 + eps)
// with decay = 1 − lr·wd (or 1 without weight decay), step_size = lr / bc1, inv_sqrt_bc2 = 1 / sqrt(bc2) and
// bcK = 1 − βK^t, t the 1-based step.

struct AdamWStep { beta1: f32, beta2: f32, eps: f32, decay: f32, step_size: f32, inv_sqrt_bc2: f32, }

struct AdamWElement { param: f32, m: f32, v: f32, }

fn adamwElement(param: f32, g: f32, m: f32, v: f32, h: AdamWStep) -> AdamWElement {
  let m_new = h.beta1 * m + (1.0 - h.beta1) * g;
  let v_new = h.beta2 * v + (1.0 - h.beta2) * g * g;
  let denom = sqrt(v_new) * h.inv_sqrt_bc2 + h.eps;
  return AdamWElement(param * h.decay - h.step_size * m_new / denom, m_new, v_new);
}
