// The model's operations on Hearth's own WGSL kernels. RMSNorm, RoPE, SwiGLU and a token-only embedding run as stock
// tfjs ops until their kernels exist; grouped-query attention repeats key/value heads for the attention kernels.
import type { Ops } from './ops.ts';
import { groupedAttention } from './attention_heads.ts';
import { stockRmsNorm, stockRope, stockSwiglu, stockTokenEmbedding } from './stock_ops.ts';
import { matmul } from '../kernels/matmul/index.ts';
import { layerNorm, addLayerNorm } from '../kernels/layernorm/index.ts';
import { causalSelfAttention } from '../kernels/attention/index.ts';
import { softmaxCrossEntropy, crossEntropyMean } from '../kernels/crossentropy/index.ts';
import { embedding } from '../kernels/embedding/index.ts';
import { dropout } from '../kernels/dropout/index.ts';

export const kernelOps: Ops = {
  name: 'hearth kernels',
  matmul,
  layerNorm,
  addLayerNorm,
  rmsNorm: stockRmsNorm,
  rope: stockRope,
  swiglu: stockSwiglu,
  attention: groupedAttention(causalSelfAttention),
  crossEntropy: softmaxCrossEntropy,
  crossEntropyMean,
  embedding: (tokens, B, T, wte, wpe, position) =>
    wpe ? embedding(tokens, B, T, wte, wpe, position) : stockTokenEmbedding(tokens, B, T, wte),
  dropout,
};
