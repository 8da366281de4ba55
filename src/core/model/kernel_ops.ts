// The model's operations on Hearth's own WGSL kernels.
import type { Ops } from './ops.ts';
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
  attention: causalSelfAttention,
  crossEntropy: softmaxCrossEntropy,
  crossEntropyMean,
  embedding,
  dropout,
};
