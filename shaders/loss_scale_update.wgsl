// Dynamic loss scaling's once-per-step update, on the GPU (PyTorch's GradScaler.update, with its
// _amp_update_scale_ semantics), so that finding an overflow never reads anything back inside a step.
//   found_inf = the global norm of the scaled gradients is not finite (any inf or NaN gradient makes it so)
//   found_inf:  scale ← scale·backoff, growth_tracker ← 0, the step is skipped (AdamW reads found_inf)
//   otherwise:  growth_tracker + 1; at growth_interval, scale ← scale·growth (if that stays finite), tracker ← 0
// It also keeps what AdamW needs from this step: 1 / the scale the gradients carry, and its own step count t
// (updates applied, skipped ones not counted, as PyTorch's optimizer never sees a skipped step).
// Finiteness is read from the bits: WGSL lets a compiler assume floats are never inf or NaN, not integers.
// bindings: norm (1: ‖scaled gradients‖), state (LossScaleState, read-write), unscaled_norm (1: norm / scale,
// for logging); uniform. Dispatch: 1 workgroup.

// #include loss_scale_state

struct Params { growth_factor: f32, backoff_factor: f32, growth_interval: u32, }

@group(0) @binding(0) var<storage, read> norm: array<f32>;
@group(0) @binding(1) var<storage, read_write> state: LossScaleState;
@group(0) @binding(2) var<storage, read_write> unscaled_norm: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn isFinite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1)
fn main() {
  var s = state;
  let used = s.scale;
  s.inv_scale_used = 1.0 / used;
  unscaled_norm[0] = norm[0] * s.inv_scale_used;
  if (isFinite(norm[0])) {
    s.found_inf = 0u;
    s.applied_steps += 1u;
    s.growth_tracker += 1u;
    if (s.growth_tracker >= params.growth_interval) {
      let grown = used * params.growth_factor;
      if (isFinite(grown)) { s.scale = grown; }
      s.growth_tracker = 0u;
    }
  } else {
    s.found_inf = 1u;
    s.skipped_steps += 1u;
    s.scale = used * params.backoff_factor;
    s.growth_tracker = 0u;
  }
  state = s;
}
