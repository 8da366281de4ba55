// The model's operations on Hearth's own WGSL kernels. Grouped-query attention runs in the attention kernels
// themselves (each query head reads its group's key and value head); a token-only embedding (families without
// position embeddings) is a stock gather with the deterministic gradient of GPT-2's embedding.
import type { Tensor2D } from '@tensorflow/tfjs-core';
import type { Ops } from './ops.ts';
import { matmul } from '../kernels/matmul/index.ts';
import { layerNorm, addLayerNorm } from '../kernels/layernorm/index.ts';
import { rmsNorm, addRmsNorm } from '../kernels/rmsnorm/index.ts';
import { rope } from '../kernels/rope/index.ts';
import { swiglu } from '../kernels/swiglu/index.ts';
import { causalSelfAttention } from '../kernels/attention/index.ts';
import { softmaxCrossEntropy, crossEntropyMean } from '../kernels/crossentropy/index.ts';
import { embedding, tokenEmbedding } from '../kernels/embedding/index.ts';
import { dropout } from '../kernels/dropout/index.ts';
import { gelu } from '../kernels/gelu/index.ts';
import { linear } from '../kernels/lora/index.ts';

export const kernelOps: Ops = {
  name: 'hearth kernels',
  matmul,
  layerNorm,
  addLayerNorm,
  rmsNorm: (x, weight, eps) => rmsNorm(x, weight, eps),
  addRmsNorm: (x, residual, weight, eps) => addRmsNorm(x, residual, weight, eps),
  rope,
  swiglu,
  linear,
  gelu: (x, exact) => gelu(x, exact) as Tensor2D,
  attention: (qkv, { nHead, nKvHead, scaled, window }, dropout, positionIds) =>
    causalSelfAttention(qkv, nHead, dropout, { nKvHead, scaled, window }, positionIds),
  crossEntropy: softmaxCrossEntropy,
  crossEntropyMean,
  embedding: (tokens, B, T, wte, wpe, position, positionIds) =>
    wpe ? embedding(tokens, B, T, wte, wpe, position, positionIds) : tokenEmbedding(tokens, B, T, wte),
  dropout,
};
