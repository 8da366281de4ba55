// The WGSL fragments in shaders/common, by the name a `// #include NAME` line (or a region's replacement,
// include(NAME)) gives them: text several kernels share, and the parts of a kernel that its variants swap.
// tests/kernels/shaders.test.ts checks that every file there is listed here, and that each declares itself a fragment.
import adamwUpdate from '../../../shaders/common/adamw_update.wgsl?raw';
import attentionBackward from '../../../shaders/common/attention_backward.wgsl?raw';
import attentionDoutF16 from '../../../shaders/common/attention_dout_f16.wgsl?raw';
import attentionHead from '../../../shaders/common/attention_head.wgsl?raw';
import attentionKeyTiles from '../../../shaders/common/attention_key_tiles.wgsl?raw';
import attentionPositionsBackward from '../../../shaders/common/attention_positions_backward.wgsl?raw';
import attentionPositionsForward from '../../../shaders/common/attention_positions_forward.wgsl?raw';
import attentionQkvF16 from '../../../shaders/common/attention_qkv_f16.wgsl?raw';
import attentionSequenceStart from '../../../shaders/common/attention_sequence_start.wgsl?raw';
import columnLanesSum from '../../../shaders/common/column_lanes_sum.wgsl?raw';
import crossentropyMergeSubgroup from '../../../shaders/common/crossentropy_merge_subgroup.wgsl?raw';
import dropoutHash from '../../../shaders/common/dropout_hash.wgsl?raw';
import geluExact from '../../../shaders/common/gelu_exact.wgsl?raw';
import geluNew from '../../../shaders/common/gelu_new.wgsl?raw';
import layernormBackwardResidualAdd from '../../../shaders/common/layernorm_backward_residual_add.wgsl?raw';
import layernormResidualAdd from '../../../shaders/common/layernorm_residual_add.wgsl?raw';
import lossScaleState from '../../../shaders/common/loss_scale_state.wgsl?raw';
import matmulEpilogueBias from '../../../shaders/common/matmul_epilogue_bias.wgsl?raw';
import matmulEpilogueBiasGelu from '../../../shaders/common/matmul_epilogue_bias_gelu.wgsl?raw';
import matmulEpilogueNone from '../../../shaders/common/matmul_epilogue_none.wgsl?raw';
import matmulEpilogueLora from '../../../shaders/common/matmul_epilogue_lora.wgsl?raw';
import matmulEpilogueLoraGelu from '../../../shaders/common/matmul_epilogue_lora_gelu.wgsl?raw';
import matmulLoadAF16 from '../../../shaders/common/matmul_load_a_f16.wgsl?raw';
import matmulLoadAF32 from '../../../shaders/common/matmul_load_a_f32.wgsl?raw';
import matmulLoadBF16 from '../../../shaders/common/matmul_load_b_f16.wgsl?raw';
import matmulLoadBF32 from '../../../shaders/common/matmul_load_b_f32.wgsl?raw';
import rmsnormBackwardResidualAdd from '../../../shaders/common/rmsnorm_backward_residual_add.wgsl?raw';
import rmsnormResidualAdd from '../../../shaders/common/rmsnorm_residual_add.wgsl?raw';
import ropePositions from '../../../shaders/common/rope_positions.wgsl?raw';
import rowInputResidualAdd from '../../../shaders/common/row_input_residual_add.wgsl?raw';
import silu from '../../../shaders/common/silu.wgsl?raw';
import rowInputX from '../../../shaders/common/row_input_x.wgsl?raw';
import rowLayout from '../../../shaders/common/row_layout.wgsl?raw';
import rowSumSubgroup from '../../../shaders/common/row_sum_subgroup.wgsl?raw';
import rowSumWorkgroup from '../../../shaders/common/row_sum_workgroup.wgsl?raw';

export const SHADER_LIBRARY: Record<string, string> = {
  adamw_update: adamwUpdate,
  attention_backward: attentionBackward,
  attention_dout_f16: attentionDoutF16,
  attention_head: attentionHead,
  attention_key_tiles: attentionKeyTiles,
  attention_positions_backward: attentionPositionsBackward,
  attention_positions_forward: attentionPositionsForward,
  attention_qkv_f16: attentionQkvF16,
  attention_sequence_start: attentionSequenceStart,
  column_lanes_sum: columnLanesSum,
  crossentropy_merge_subgroup: crossentropyMergeSubgroup,
  dropout_hash: dropoutHash,
  gelu_exact: geluExact,
  gelu_new: geluNew,
  layernorm_backward_residual_add: layernormBackwardResidualAdd,
  layernorm_residual_add: layernormResidualAdd,
  loss_scale_state: lossScaleState,
  matmul_epilogue_bias: matmulEpilogueBias,
  matmul_epilogue_bias_gelu: matmulEpilogueBiasGelu,
  matmul_epilogue_none: matmulEpilogueNone,
  matmul_epilogue_lora: matmulEpilogueLora,
  matmul_epilogue_lora_gelu: matmulEpilogueLoraGelu,
  matmul_load_a_f16: matmulLoadAF16,
  matmul_load_a_f32: matmulLoadAF32,
  matmul_load_b_f16: matmulLoadBF16,
  matmul_load_b_f32: matmulLoadBF32,
  rmsnorm_backward_residual_add: rmsnormBackwardResidualAdd,
  rmsnorm_residual_add: rmsnormResidualAdd,
  rope_positions: ropePositions,
  row_input_residual_add: rowInputResidualAdd,
  row_input_x: rowInputX,
  row_layout: rowLayout,
  row_sum_subgroup: rowSumSubgroup,
  row_sum_workgroup: rowSumWorkgroup,
  silu,
};
