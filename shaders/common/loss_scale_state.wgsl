// Include fragment (`// #include loss_scale_state`): dynamic loss scaling's state on the GPU, one 32-byte buffer
// (src/core/kernels/loss_scale encodes and decodes it; loss_scale_update.wgsl writes it once per step).

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
