// The model's operations made only of stock tfjs ops: the baseline our kernels are measured against, and a
// second, independent implementation the tests compare with.
import * as tf from '@tensorflow/tfjs-core';
import type { Ops } from './ops.ts';
import { groupedAttention } from './attention_heads.ts';
import { stockCausalSelfAttention } from '../kernels/attention/stock.ts';
import { stockRmsNorm } from '../kernels/rmsnorm/stock.ts';
import { stockRope } from '../kernels/rope/stock.ts';
import { stockSwiglu } from '../kernels/swiglu/stock.ts';
import { dropout as dropoutOp } from '../kernels/dropout/index.ts';
import { IGNORE_INDEX } from '../util/targets.ts';

const GELU_K = Math.sqrt(2 / Math.PI);

export function stockGelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(GELU_K, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

/** The exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as PyTorch's nn.GELU(). */
export function stockGeluExact(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** wte[tokens[b·T + t]] → (B, T, C): the embedding of families without position embeddings. */
function stockTokenEmbedding(tokens: Int32Array, B: number, T: number, wte: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => tf.reshape(tf.gather(wte, tf.tensor1d(tokens, 'int32')), [B, T, -1]) as tf.Tensor3D);
}

export const stockOps: Ops = {
  name: 'stock tfjs',
  matmul(a, b, opts = {}) {
    return tf.tidy(() => {
      let y: tf.Tensor2D = tf.matMul(a, b, opts.transposeA, opts.transposeB);
      if (opts.bias) y = tf.add(y, opts.bias);
      if (opts.activation === 'gelu') y = stockGelu(y) as tf.Tensor2D;
      if (opts.activation === 'gelu_exact') y = stockGeluExact(y) as tf.Tensor2D;
      return y;
    });
  },
  layerNorm(x, weight, bias, eps) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
      return tf.add(tf.mul(xhat, weight), bias) as tf.Tensor2D;
    });
  },
  rmsNorm: stockRmsNorm,
  rope: stockRope,
  swiglu: stockSwiglu,
  gelu: (x, exact) => (exact ? stockGeluExact(x) : stockGelu(x)) as tf.Tensor2D,
  attention: groupedAttention(stockCausalSelfAttention),
  crossEntropy(logits, targets) {
    return tf.tidy(() => {
      const V = logits.shape[1];
      const valid = tf.notEqual(targets, IGNORE_INDEX);
      const safe = tf.where(valid, targets, tf.zerosLike(targets));
      const logp = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(safe, V)), -1);
      return tf.neg(tf.mul(picked, tf.cast(valid, 'float32'))) as tf.Tensor1D;
    });
  },
  // The mask comes from our dropout op run on ones (so it is the kernels' mask); applying it is a stock multiply.
  dropout(x, p, seed) {
    return tf.tidy(() => tf.mul(x, dropoutOp(tf.onesLike(x), p, seed)) as tf.Tensor2D);
  },
  embedding(tokens, B, T, wte, wpe, position = 0, positionIds) {
    if (!wpe) return stockTokenEmbedding(tokens, B, T, wte);
    return tf.tidy(() => {
      const tok = stockTokenEmbedding(tokens, B, T, wte);
      // (T, C), broadcast over the batch; packed rows: each token's own, (B, T, C)
      const pos = positionIds ? stockTokenEmbedding(positionIds, B, T, wpe) : tf.slice(wpe, [position, 0], [T, -1]);
      return tf.add(tok, pos) as tf.Tensor3D;
    });
  },
};
