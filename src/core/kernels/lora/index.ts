// A linear layer with a LoRA adapter as one tfjs op, and a frozen weight held in f16, on matmul.wgsl:
//
//   forward   down = dropout(x)·Aᵀ                                  (M, r), the existing matmul
//             Z = x·op(W) + bias + s·down·Bᵀ,  y = Z or GELU(Z)     one tiled matmul, LoRA epilogue
//                                                                   (common/matmul_epilogue_lora.wgsl)
//   backward  dZ = dy, or GELU'(Z)·dy
//             g = s·dZ·B                                            (M, r)
//             dx = dZ·op(W)ᵀ + dropout'(g·A)   (the dropout's input gradient: the same mask; without dropout one
//                                              kernel, g·A in the LoRA epilogue of dZ·op(W)ᵀ)
//             dA = gᵀ·dropout(x),  dB = s·dZᵀ·down,  dbias = Σ_m dZ;  no dW: the base is frozen
// x (M, in); W [out, in] (transposeB, nn.Linear) or [in, out] (Conv1D); A [r, in]; B [out, r].
//
// W + s·B·A is never materialised and the adapter's (M, out) output is never a tensor of its own: each output
// element adds its r-term dot product in the epilogue. Saved for the backward: x, W (or its f16 copy), A, B, down
// (M, r) and with GELU Z; the dropout mask is recomputed from its seed.
//
// A frozen weight may be held as packed f16 (HalfWeight: two per u32, shaders/half_cast.wgsl), cast once when the
// adapter is attached: then the forward's product and dx's read W in f16 (matmul_load_b_f16.wgsl) beside f32
// activations and gradients, and everything else stays f32. A half weight with no adapter on its layer runs the
// same way without the LoRA epilogue (HearthLinearHalf).
import type { NamedAttrMap, Tensor, Tensor1D, Tensor2D, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../gpu/tf.ts';
import { release } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';
import { matmul, matmulKernel, matmulShape, type Epilogue, type Product } from '../matmul/index.ts';
import { dropout, dropoutKernel } from '../dropout/index.ts';
import { checkHalfOperand } from '../half/index.ts';

/** A frozen weight held as packed f16 (castToHalfUntracked), with the shape of the f32 tensor it stands for. */
export interface HalfWeight {
  packed: Tensor;
  shape: [number, number];
}

export const isHalfWeight = (w: Tensor2D | HalfWeight): w is HalfWeight => 'packed' in w;

/** A LoRA adapter on one layer as the op takes it. */
export interface LoraOperands {
  /** [r, in] */
  A: Tensor2D;
  /** [out, r] */
  B: Tensor2D;
  /** s: lora_alpha / r, or lora_alpha / √r */
  scale: number;
  /** dropout on the adapter's input (training steps), its mask hashed from the seed as kernels/dropout does */
  dropout?: { p: number; seed: number };
}

export interface LinearOptions {
  /** W is [out, in] (nn.Linear): x·Wᵀ; else W is [in, out] (Conv1D) */
  transposeB: boolean;
  bias?: Tensor1D;
  activation?: 'none' | 'gelu' | 'gelu_exact';
  lora?: LoraOperands;
}

const gelu = (a: NamedAttrMap) => a.activation === 'gelu' || a.activation === 'gelu_exact';
const exact = (a: NamedAttrMap) => a.activation === 'gelu_exact';

function epilogueOf(attrs: NamedAttrMap, lora: boolean): Epilogue {
  const suffix = gelu(attrs) ? (exact(attrs) ? '_gelu_exact' : '_gelu') : '';
  return `${lora ? 'lora' : 'bias'}${suffix}` as Epilogue;
}

const halfOf = (attrs: NamedAttrMap, w: TensorInfo) => {
  const shape = attrs.wShape as number[];
  checkHalfOperand('linear (f16 weight) w', w, shape);
  return { bShape: shape };
};

/** The forward of every variant: [y, down?, Z?]. */
function forward(inputs: Record<string, TensorInfo>, attrs: NamedAttrMap, half: boolean, lora: boolean) {
  const { x, w, bias, A, B } = inputs;
  const product: Product = {
    transposeA: false,
    transposeB: attrs.transposeB === true,
    epilogue: epilogueOf(attrs, lora),
    bias,
    half: half ? halfOf(attrs, w) : undefined,
  };
  if (!lora) return matmulKernel(x, w, product);
  const p = attrs.p as number;
  const input = p > 0 ? dropoutKernel(x, p, attrs.seed as number, x.shape[1]) : x;
  const [down] = matmulKernel(input, A, { transposeA: false, transposeB: true }); // (M, r)
  if (input !== x) release(input);
  const [y, pre] = matmulKernel(x, w, { ...product, lora: { down, loraB: B, scale: attrs.scale as number } });
  return pre ? [y, down, pre] : [y, down];
}

/**
 * dZ·op(W)ᵀ, with W in f32 or (half) packed f16 of shape attrs.wShape; with `adapter` (no dropout) + g·A in the same
 * kernel, the LoRA epilogue with g (M, r) for down and Aᵀ (in, r) for its B.
 */
function inputGradient(
  dz: Tensor,
  w: Tensor,
  attrs: NamedAttrMap,
  half: boolean,
  adapter?: { g: Tensor; A: Tensor },
): Tensor {
  const transposeB = !(attrs.transposeB === true);
  if (!half && !adapter) return runOp('HearthMatmul', { a: dz, b: w }, { transposeA: false, transposeB });
  const product: Product = { transposeA: false, transposeB, half: half ? halfOf(attrs, w) : undefined };
  if (!adapter) return tf.engine().makeTensorFromTensorInfo(matmulKernel(dz, w, product)[0]);
  return tf.tidy(() => {
    const [, inFeatures] = adapter.A.shape as [number, number];
    const lora = { down: adapter.g, loraB: tf.transpose(adapter.A), scale: 1 };
    const [dx] = matmulKernel(dz, w, { ...product, epilogue: 'lora', bias: tf.zeros([inFeatures]), lora });
    return tf.engine().makeTensorFromTensorInfo(dx);
  });
}

const frozen = (): Tensor => {
  throw new Error('linear: the base weight is frozen (a LoRA base); it has no gradient');
};

/** HearthLinearHalf, HearthLora and HearthLoraHalf: x, w (wHalf), bias [, A, B]. */
function registerLinearOp(half: boolean, lora: boolean): void {
  const w = half ? 'wHalf' : 'w';
  const adapter = lora ? ['A', 'B'] : [];
  registerOp({
    name: lora ? (half ? 'HearthLoraHalf' : 'HearthLora') : 'HearthLinearHalf',
    inputs: ['x', w, 'bias', ...adapter],
    forward: ({ x, bias, ...rest }, attrs) => forward({ x, w: rest[w], bias, ...rest }, attrs, half, lora),
    gradient: {
      // Without an adapter dx needs the weight alone: x is not kept alive for it.
      inputsToSave: lora ? ['x', w, ...adapter] : [w],
      // [y, down, Z] with LoRA, [y, Z] without: keep every output but y.
      outputsToSave: [false, true, true],
      grad: (dy, saved, attrs) => {
        // with an adapter x, w, A, B; without, w alone
        const [x, , A, B] = saved;
        const weight = saved[lora ? 1 : 0];
        const outs = saved.slice(lora ? 4 : 1);
        const down = lora ? outs[0] : undefined;
        const pre = outs[lora ? 1 : 0];
        const dc = Array.isArray(dy) ? dy[0] : dy;
        // Computed once here, not in each closure; tfjs's backward tidy disposes them.
        const dz: Tensor = gelu(attrs) ? runOp('HearthGeluBackward', { x: pre, dy: dc }, { exact: exact(attrs) }) : dc;
        const grads: Record<string, () => Tensor> = {
          [w]: frozen,
          bias: () => runOp('HearthColumnSum', { x: dz }),
        };
        if (!lora) return { ...grads, x: () => inputGradient(dz, weight, attrs, half) };
        const s = attrs.scale as number;
        const p = attrs.p as number;
        const seed = attrs.seed as number;
        const g = tf.mul(runOp<Tensor>('HearthMatmul', { a: dz, b: B }), s); // (M, r)
        const dropped = () => (p > 0 ? dropout(x, p, seed) : x);
        return {
          ...grads,
          // dZ·op(W)ᵀ + g·A in one kernel; with dropout, g·A goes through the mask first, so it is its own product
          x: () => {
            if (!(p > 0)) return inputGradient(dz, weight, attrs, half, { g, A });
            const adapted = runOp<Tensor>('HearthMatmul', { a: g, b: A }); // (M, in)
            return tf.add(inputGradient(dz, weight, attrs, half), dropout(adapted, p, seed));
          },
          A: () => runOp('HearthMatmul', { a: g, b: dropped() }, { transposeA: true, transposeB: false }),
          B: () =>
            tf.mul(runOp<Tensor>('HearthMatmul', { a: dz, b: down! }, { transposeA: true, transposeB: false }), s),
        };
      },
    },
  });
}

registerLinearOp(true, false);
registerLinearOp(false, true);
registerLinearOp(true, true);

/**
 * y = x·op(W) (+ bias) (+ s·dropout(x)·Aᵀ·Bᵀ) (then GELU), x (M, in) → (M, out); W f32 or a frozen HalfWeight. Without
 * an adapter and with an f32 W this is the plain matmul.
 */
export function linear(x: Tensor2D, w: Tensor2D | HalfWeight, o: LinearOptions): Tensor2D {
  const half = isHalfWeight(w);
  const { lora, activation = 'none' } = o;
  if (!half && !lora) return matmul(x, w, { transposeB: o.transposeB, bias: o.bias, activation });
  const wShape = w.shape;
  const { N } = matmulShape(x.shape, wShape, false, o.transposeB);
  if (lora) {
    const r = lora.A.shape[0];
    if (lora.A.shape[1] !== x.shape[1] || lora.B.shape[0] !== N || lora.B.shape[1] !== r)
      throw new Error(`linear: LoRA A [${lora.A.shape}] and B [${lora.B.shape}] do not fit x [${x.shape}] → ${N}`);
  }
  const p = lora?.dropout?.p ?? 0;
  const attrs = {
    transposeB: o.transposeB,
    activation,
    wShape,
    scale: lora?.scale ?? 1,
    p,
    seed: p > 0 ? lora!.dropout!.seed >>> 0 : 0,
  };
  return tf.tidy(() => {
    const bias = o.bias ?? tf.zeros([N]);
    const weight: Record<string, Tensor> = half ? { wHalf: w.packed } : { w };
    const adapter: Record<string, Tensor> = lora ? { A: lora.A, B: lora.B } : {};
    const name = lora ? (half ? 'HearthLoraHalf' : 'HearthLora') : 'HearthLinearHalf';
    const out = runOp<Tensor | Tensor[]>(name, { x, ...weight, bias, ...adapter }, attrs);
    // The other outputs (down, Z) are the gradient's; it has its own saved copies.
    return (Array.isArray(out) ? out[0] : out) as Tensor2D;
  });
}
