// One AdamW step over every parameter of a model at once, in place (PyTorch's torch.optim.AdamW semantics,
// common/adamw_update.wgsl): the optimizer keeps parameters, gradients and both moments packed into one flat buffer
// each, so a whole update is one dispatch instead of one per tensor. The gradient is clipped by the global norm:
//   g = grad·clip,  clip = min(1, max_norm / (norm + 1e-6))  (torch.nn.utils.clip_grad_norm_; 1 when max_norm = 0)
// The packing puts every tensor that takes weight decay first, so decay = 1 − lr·wd below element decay_end
// and 1 from there on: no per-tensor table is needed. norm (the global gradient norm) stays on the GPU.
//
// Entry points (a resource interface is per entry point, so the two share binding numbers):
//   main              the bias corrections from the CPU (as adamw.wgsl); uniform at 5
//   main_loss_scaled  for gradients that carry a loss scale (mixed precision); state (LossScaleState) at 5,
//                     lr_schedule (≥ 1) at 6, uniform at 7
// main_loss_scaled consults the loss scaler's state (loss_scale_update.wgsl, run just before):
//   found_inf ≠ 0: the step is skipped, param, m and v are left exactly as they were
//   otherwise:     g = grad · inv_scale_used · clip,  clip = min(1, max_norm / (norm·inv_scale_used + 1e-6))
//                  (clipping sees the unscaled norm, as after PyTorch's scaler.unscale_), then AdamW as main.
// Its bias corrections come from the scaler's count of applied steps t, which only the GPU knows (skips are found
// there): 1 − β^t = −expm1(t·ln β), by its series for small |t·ln β| so that β close to 1 keeps its digits in f32.
// So does the learning rate: lr_schedule[k] is the rate for the update after k applied ones (the last entry holds
// past the end), so a skipped step does not advance the schedule, as Hugging Face's Trainer steps its scheduler
// only when the optimizer ran.
// bindings: param (n, read-write), grad (n), m (n, read-write), v (n, read-write), norm (1: the gradients' global
// norm, scaled for main_loss_scaled), then as above.
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

struct LossScaledParams {
  n: u32,
  decay_end: u32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  ln_beta1: f32,
  ln_beta2: f32,
  max_norm: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> norm: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@group(0) @binding(5) var<storage, read> state: LossScaleState;
@group(0) @binding(6) var<storage, read> lr_schedule: array<f32>;
@group(0) @binding(7) var<uniform> params_loss_scaled: LossScaledParams;

const WG: u32 = 256u;

// #include adamw_update
// #include loss_scale_state

// The global-norm clip factor for a gradient norm, 1 without clipping (max_norm = 0).
fn clipFactor(grad_norm: f32, max_norm: f32) -> f32 {
  return select(1.0, min(1.0, max_norm / (grad_norm + 1e-6)), max_norm > 0.0);
}

// Element i's update, in place.
fn update(i: u32, g: f32, h: AdamWStep) {
  let e = adamwElement(param[i], g, m[i], v[i], h);
  param[i] = e.param;
  m[i] = e.m;
  v[i] = e.v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let g = grad[i] * clipFactor(norm[0], params.max_norm);
  let decay = select(1.0, params.decay_factor, i < params.decay_end);
  update(i, g, AdamWStep(params.beta1, params.beta2, params.eps, decay, params.step_size, params.inv_sqrt_bc2));
}

// 1 − β^t from ln β: x = t·ln β ≤ 0. Above −0.25 the series to x⁶ is off by < 1e-7 relatively; below, 1 − exp(x)
// is at least 0.22, so exp's rounding costs little.
fn oneMinusPow(lnBeta: f32, t: f32) -> f32 {
  let x = t * lnBeta;
  if (x > -0.25) {
    return -x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x / 720.0)))));
  }
  return 1.0 - exp(x);
}

@compute @workgroup_size(WG)
fn main_loss_scaled(@builtin(global_invocation_id) gid: vec3<u32>,
                    @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = params_loss_scaled;
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n || state.found_inf != 0u) { return; }
  let inv_scale = state.inv_scale_used;
  // applied_steps already counts this update (≥ 1 here).
  let lr = lr_schedule[min(state.applied_steps - 1u, arrayLength(&lr_schedule) - 1u)];
  let t = f32(state.applied_steps);
  let step_size = lr / oneMinusPow(p.ln_beta1, t);
  let inv_sqrt_bc2 = 1.0 / sqrt(oneMinusPow(p.ln_beta2, t));
  let g = grad[i] * (inv_scale * clipFactor(norm[0] * inv_scale, p.max_norm));
  let decay = select(1.0, 1.0 - lr * p.weight_decay, i < p.decay_end);
  update(i, g, AdamWStep(p.beta1, p.beta2, p.eps, decay, step_size, inv_sqrt_bc2));
}
