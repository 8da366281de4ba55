// One AdamW step over every parameter of a model at once, in place (PyTorch's torch.optim.AdamW semantics, as
// adamw.wgsl): the optimizer keeps parameters, gradients and both moments packed into one flat buffer each, so
// a whole update is one dispatch instead of one per tensor.
//   g = grad·clip,  clip = min(1, max_norm / (norm + 1e-6)) (torch.nn.utils.clip_grad_norm_), or 1 when max_norm = 0
//   m' = β1·m + (1 − β1)·g,   v' = β2·v + (1 − β2)·g²
//   p' = p·decay − (lr / bc1) · m' / (sqrt(v') / sqrt(bc2) + eps)
// The packing puts every tensor that takes weight decay first, so decay = 1 − lr·wd below element decay_end
// and 1 from there on: no per-tensor table is needed. norm (the global gradient norm) stays on the GPU.
// bindings: param (n, read-write), grad (n), m (n, read-write), v (n, read-write), norm (1); uniform.
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

struct Params {
  n: u32,
  decay_end: u32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  decay_factor: f32,
  step_size: f32,
  inv_sqrt_bc2: f32,
  max_norm: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> norm: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let clip = select(1.0, min(1.0, params.max_norm / (norm[0] + 1e-6)), params.max_norm > 0.0);
  let g = grad[i] * clip;
  let m_new = params.beta1 * m[i] + (1.0 - params.beta1) * g;
  let v_new = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
  let denom = sqrt(v_new) * params.inv_sqrt_bc2 + params.eps;
  let decay = select(1.0, params.decay_factor, i < params.decay_end);
  param[i] = param[i] * decay - params.step_size * m_new / denom;
  m[i] = m_new;
  v[i] = v_new;
}
