// Global-norm clipping factor, as torch.nn.utils.clip_grad_norm_ computes it, without leaving the GPU:
//   scale = min(1, max_norm / (sqrt(sum_sq) + 1e-6))
// bindings: sum_sq (1), scale (1); uniform. Dispatch: 1 workgroup.

struct Params { max_norm: f32, }

@group(0) @binding(0) var<storage, read> sum_sq: array<f32>;
@group(0) @binding(1) var<storage, read_write> scale: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(1)
fn main() {
  scale[0] = min(1.0, params.max_norm / (sqrt(sum_sq[0]) + 1e-6));
}
