// The model's operations made only of stock tfjs ops: the baseline our kernels are measured against, and a
// second, independent implementation the tests compare with.
import * as tf from '@tensorflow/tfjs-core';
import type { Ops, RopeSpec } from './ops.ts';
import { groupedAttention } from './attention_heads.ts';
import { ropeTables } from './rope.ts';
import { stockCausalSelfAttention } from '../kernels/attention/stock.ts';
import { dropout as dropoutOp } from '../kernels/dropout/index.ts';
import { IGNORE_INDEX } from '../util/targets.ts';

const GELU_K = Math.sqrt(2 / Math.PI);

export function stockGelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(GELU_K, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

/** x·rsqrt(mean(x²) + eps)·weight over the last dim, as Hugging Face's LlamaRMSNorm. */
export function stockRmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const meanSquare = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight) as tf.Tensor2D;
  });
}

/** Rotary embedding as HF's apply_rotary_pos_emb: x·cos + rotate_half(x)·sin on the first rotaryDim dims of a head. */
export function stockRope(x: tf.Tensor2D, r: RopeSpec): tf.Tensor2D {
  const { B, T, nHeads, headDim, rotaryDim } = r;
  const half = rotaryDim / 2;
  if (x.shape[0] !== B * T || x.shape[1] !== nHeads * headDim || r.invFreq.length !== half || rotaryDim > headDim) {
    throw new Error(`rope: x [${x.shape}] is not (${B}·${T}, ${nHeads}·${headDim}) with ${half} frequencies`);
  }
  return tf.tidy(() => {
    const { cos, sin } = ropeTables(r.invFreq, T, r.position);
    const c = tf.tensor4d(cos, [1, T, 1, half]);
    const s = tf.tensor4d(sin, [1, T, 1, half]);
    const heads = tf.reshape(x, [B, T, nHeads, headDim]);
    const x1 = tf.slice(heads, [0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = tf.slice(heads, [0, 0, 0, half], [-1, -1, -1, half]);
    const parts = [tf.sub(tf.mul(x1, c), tf.mul(x2, s)), tf.add(tf.mul(x2, c), tf.mul(x1, s))];
    if (rotaryDim < headDim) parts.push(tf.slice(heads, [0, 0, 0, rotaryDim], [-1, -1, -1, -1]));
    return tf.reshape(tf.concat(parts, 3), [B * T, nHeads * headDim]) as tf.Tensor2D;
  });
}

/** silu(gate)·up */
export function stockSwiglu(gate: tf.Tensor2D, up: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D);
}

/** wte[tokens[b·T + t]] → (B, T, C): the embedding of families without position embeddings. */
export function stockTokenEmbedding(tokens: Int32Array, B: number, T: number, wte: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => tf.reshape(tf.gather(wte, tf.tensor1d(tokens, 'int32')), [B, T, -1]) as tf.Tensor3D);
}

export const stockOps: Ops = {
  name: 'stock tfjs',
  matmul(a, b, opts = {}) {
    return tf.tidy(() => {
      let y: tf.Tensor2D = tf.matMul(a, b, opts.transposeA, opts.transposeB);
      if (opts.bias) y = tf.add(y, opts.bias);
      if (opts.activation === 'gelu') y = stockGelu(y) as tf.Tensor2D;
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
  embedding(tokens, B, T, wte, wpe, position = 0) {
    if (!wpe) return stockTokenEmbedding(tokens, B, T, wte);
    return tf.tidy(() => {
      const tok = stockTokenEmbedding(tokens, B, T, wte);
      const pos = tf.slice(wpe, [position, 0], [T, -1]); // (T, C), broadcast over the batch
      return tf.add(tok, pos) as tf.Tensor3D;
    });
  },
};
