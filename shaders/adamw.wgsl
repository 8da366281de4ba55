// One AdamW step, elementwise, with PyTorch's torch.optim.AdamW semantics (common/adamw_update.wgsl), out of place:
//   g = grad·grad_scale
// The bias corrections are computed on the CPU in float64 and arrive as decay_factor = 1 − lr·wd,
// step_size = lr / bc1 and inv_sqrt_bc2 = 1 / sqrt(bc2).
// grad_scale (one float on the GPU, e.g. a global-norm clip factor) is read only when HAS_GRAD_SCALE;
// without one the caller binds grad again in its place, since the pipeline layout needs a buffer there.
// bindings: param, grad, m, v, grad_scale (1), param_out, m_out, v_out; uniform.
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

struct Params {
  n: u32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  decay_factor: f32,
  step_size: f32,
  inv_sqrt_bc2: f32,
}

@group(0) @binding(0) var<storage, read> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> grad_scale: array<f32>;
@group(0) @binding(5) var<storage, read_write> param_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> m_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> v_out: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

const WG: u32 = 256u;
const HAS_GRAD_SCALE = true;

// #include adamw_update

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  var g = grad[i];
  if (HAS_GRAD_SCALE) { g = g * grad_scale[0]; }
  let h = AdamWStep(params.beta1, params.beta2, params.eps, params.decay_factor, params.step_size, params.inv_sqrt_bc2);
  let e = adamwElement(param[i], g, m[i], v[i], h);
  param_out[i] = e.param;
  m_out[i] = e.m;
  v_out[i] = e.v;
}
