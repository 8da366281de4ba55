// The families' linear layers in one place: x·W (+ b), and, when a LoRA adapter is attached to the layer (PEFT's
// lora.Linear), + s·dropout(x)·Aᵀ·Bᵀ with A [r, in] and B [out, r] as PEFT holds them. Families declare their
// linear layers (Hugging Face module names, sizes, layout) so that adapters find their targets without knowing the
// family, and run every one of them through `linear`.
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext } from './family.ts';
import { stockGelu, stockGeluExact } from './stock_ops.ts';
import { dropoutRowKey } from '../kernels/dropout/seeds.ts';

/** A linear layer as a family declares it. */
export interface LinearLayer {
  /** the module's name under the family's parameter names (no base-model prefix): 'h.0.attn.c_attn' */
  module: string;
  /** the block it belongs to; −1 outside the blocks */
  layer: number;
  inFeatures: number;
  outFeatures: number;
  /** the weight is [in, out] (GPT-2's Conv1D, PEFT's fan_in_fan_out); [out, in] (nn.Linear) otherwise */
  fanInFanOut: boolean;
  bias: boolean;
}

/**
 * The nn.Linear layers ([out, in] weights) of blocks 0 .. n−1, from each block's parameters by name and shape: every
 * 2-D `.weight`, with a bias when the block has its `.bias`.
 */
export function nnLinearLayers(n: number, blockShapes: (layer: number) => [string, number[]][]): LinearLayer[] {
  const out: LinearLayer[] = [];
  for (let l = 0; l < n; l++) {
    const shapes = new Map(blockShapes(l));
    for (const [name, shape] of shapes) {
      if (shape.length !== 2 || !name.endsWith('.weight')) continue;
      const module = name.slice(0, -'.weight'.length);
      const [outFeatures, inFeatures] = shape;
      out.push({ module, layer: l, inFeatures, outFeatures, fanInFanOut: false, bias: shapes.has(`${module}.bias`) });
    }
  }
  return out;
}

/** An adapter's weights on one layer, as the forward pass reads them. */
export interface LoraWeights {
  /** [r, in] */
  A: tf.Tensor2D;
  /** [out, r] */
  B: tf.Tensor2D;
  /** lora_alpha / r, or lora_alpha / √r with use_rslora */
  scale: number;
  /** lora_dropout, on the adapter's input in training steps only */
  dropout: number;
  /** the layer's index among the adapter's targets: its dropout mask's key */
  index: number;
}

/** The dropout key of the adapters' inputs, apart from the families' own dropout sites. */
const LORA_DROPOUT_KEY = 0x4c6f5241;

/** The seed of the dropout mask on the input of the adapter's `index`th target, from a training step's seed. */
export function loraDropoutSeed(stepSeed: number, index: number): number {
  return dropoutRowKey(dropoutRowKey(stepSeed, LORA_DROPOUT_KEY), index >>> 0);
}

/**
 * The linear layer `module` (its `.weight`, and `.bias` when it has one) on x (M, in) → (M, out), then gelu_new
 * ('gelu') or the exact GELU ('gelu_exact') when asked; with the adapter's weights on that layer, the base output plus
 * the adapter's, before the activation. With ops that have `linear` (Hearth's kernels) an adapted layer is one fused
 * op; otherwise (stock tfjs) the adapter is its own products and an add.
 */
export function linear(
  ctx: ForwardContext<unknown>,
  x: tf.Tensor2D,
  module: string,
  o: { fanInFanOut: boolean; bias: boolean; activation?: 'gelu' | 'gelu_exact' },
): tf.Tensor2D {
  const { ops } = ctx;
  const half = ctx.halfWeight?.(`${module}.weight`);
  const bias = o.bias ? (ctx.p(`${module}.bias`) as tf.Tensor1D) : undefined;
  const lora = ctx.lora?.(module);
  const seed = ctx.dropoutSeed;
  const dropout =
    lora && seed !== undefined && lora.dropout > 0
      ? { p: lora.dropout, seed: loraDropoutSeed(seed, lora.index) }
      : undefined;
  // One op when the ops have it: the adapter in the base product's epilogue, or a frozen f16 weight.
  if (ops.linear && (half || lora)) {
    const adapter = lora && { A: lora.A, B: lora.B, scale: lora.scale, dropout };
    const w = half ?? (ctx.p(`${module}.weight`) as tf.Tensor2D);
    return ops.linear(x, w, { transposeB: !o.fanInFanOut, bias, activation: o.activation, lora: adapter });
  }
  if (half) throw new Error(`${ops.name} cannot read ${module}.weight, held in f16 (LoRA's halfBase)`);
  const w = ctx.p(`${module}.weight`) as tf.Tensor2D;
  if (!lora) return ops.matmul(x, w, { transposeB: !o.fanInFanOut, bias, activation: o.activation });
  const base = ops.matmul(x, w, { transposeB: !o.fanInFanOut, bias });
  const input = dropout ? ops.dropout(x, dropout.p, dropout.seed) : x;
  // The scale on the (M, r) product, the narrowest place for it.
  const down = tf.mul(ops.matmul(input, lora.A, { transposeB: true }), lora.scale) as tf.Tensor2D; // (M, r)
  const y = tf.add(base, ops.matmul(down, lora.B, { transposeB: true })) as tf.Tensor2D;
  if (!o.activation) return y;
  const exact = o.activation === 'gelu_exact';
  if (ops.gelu) return ops.gelu(y, exact);
  return (exact ? stockGeluExact(y) : stockGelu(y)) as tf.Tensor2D;
}
