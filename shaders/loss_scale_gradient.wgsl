// y = x · scale, scale being the loss scale on the GPU (LossScaleState.scale): the backward of loss scaling's
// identity op, which multiplies the loss's gradient (and so every gradient behind it) by the current scale.
// bindings: x (n), state (LossScaleState), y (n); uniform (n).
// Dispatch: ceil(n / WG) workgroups, split over x and y when above 65535.

// #include loss_scale_state

struct Params { n: u32, }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> state: LossScaleState;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  y[i] = x[i] * state.scale;
}
