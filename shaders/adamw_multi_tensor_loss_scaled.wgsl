// adamw_multi_tensor.wgsl's packed, in-place AdamW step for gradients that carry a loss scale (mixed precision).
// It consults the loss scaler's state (shaders/loss_scale_update.wgsl, run just before):
//   found_inf ≠ 0: the step is skipped, param, m and v are left exactly as they were
//   otherwise:     g = grad · inv_scale_used · clip,  clip = min(1, max_norm / (norm·inv_scale_used + 1e-6))
//                  (clipping sees the unscaled norm, as after PyTorch's scaler.unscale_), then AdamW as there.
// The bias corrections come from the scaler's count of applied steps t, which only the GPU knows (skips are found
// there): 1 − β^t = −expm1(t·ln β), by its series for small |t·ln β| so that β close to 1 keeps its digits in f32.
// So does the learning rate: lr_schedule[k] is the rate for the update after k applied ones (the last entry holds
// past the end), so a skipped step does not advance the schedule, as Hugging Face's Trainer steps its scheduler
// only when the optimizer ran.
// bindings: param (n, read-write), grad (n), m (n, read-write), v (n, read-write), norm (1: ‖scaled gradients‖),
// state (LossScaleState), lr_schedule (≥ 1); uniform. Dispatch: ceil(n / WG) workgroups, split over x and y when
// above 65535.

struct LossScaleState {
  scale: f32,
  inv_scale_used: f32,
  growth_tracker: u32,
  found_inf: u32,
  applied_steps: u32,
  skipped_steps: u32,
  reserved0: u32,
  reserved1: u32,
}

struct Params {
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
@group(0) @binding(5) var<storage, read> state: LossScaleState;
@group(0) @binding(6) var<storage, read> lr_schedule: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

const WG: u32 = 256u;

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
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n || state.found_inf != 0u) { return; }
  let inv_scale = state.inv_scale_used;
  // applied_steps already counts this update (≥ 1 here).
  let lr = lr_schedule[min(state.applied_steps - 1u, arrayLength(&lr_schedule) - 1u)];
  let t = f32(state.applied_steps);
  let step_size = lr / oneMinusPow(params.ln_beta1, t);
  let inv_sqrt_bc2 = 1.0 / sqrt(oneMinusPow(params.ln_beta2, t));
  let clip = select(1.0, min(1.0, params.max_norm / (norm[0] * inv_scale + 1e-6)), params.max_norm > 0.0);
  let g = grad[i] * (inv_scale * clip);
  let m_new = params.beta1 * m[i] + (1.0 - params.beta1) * g;
  let v_new = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
  let denom = sqrt(v_new) * inv_sqrt_bc2 + params.eps;
  let decay = select(1.0, 1.0 - lr * params.weight_decay, i < params.decay_end);
  param[i] = param[i] * decay - step_size * m_new / denom;
  m[i] = m_new;
  v[i] = v_new;
}
