// float64 reference for a linear layer with a LoRA adapter (PEFT's lora.Linear), from the matmul references:
//   Z = x·op(W) + bias + s·(dropout(x)·Aᵀ)·Bᵀ,  y = Z or GELU(Z)
import { matmulBackward, matmulForward, matmulPreActivation, columnSum } from '../matmul/reference.ts';
import { dropoutForward } from '../dropout/reference.ts';
import { geluBackward, geluExactBackward, geluExactForward, geluForward } from '../gelu/reference.ts';

export interface LoraLinearRef {
  /** x (M, I), W [O, I] when transposeB (else [I, O]), A [r, I], B [O, r] */
  M: number;
  I: number;
  O: number;
  r: number;
  transposeB: boolean;
  bias?: ArrayLike<number>;
  scale: number;
  gelu?: 'gelu' | 'gelu_exact';
  /** the adapter's input dropout, its mask as kernels/dropout (rows of I) */
  dropout?: { p: number; seed: number };
}

const dropped = (x: ArrayLike<number>, o: LoraLinearRef) =>
  o.dropout ? dropoutForward(x, o.I, o.dropout.p, o.dropout.seed) : Float64Array.from(x);

/** Z (M, O) and down = dropout(x)·Aᵀ (M, r). */
function preActivation(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  o: LoraLinearRef,
) {
  const { M, I, O, r } = o;
  const down = matmulForward(dropped(x, o), a, M, I, r, { transposeB: true });
  const up = matmulForward(down, b, M, r, O, { transposeB: true });
  const z = matmulPreActivation(x, w, M, I, O, { transposeB: o.transposeB, bias: o.bias });
  for (let i = 0; i < z.length; i++) z[i] += o.scale * up[i];
  return { z, down };
}

export function loraLinearForward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  o: LoraLinearRef,
): Float64Array {
  const { z } = preActivation(x, w, a, b, o);
  return o.gelu === 'gelu' ? geluForward(z) : o.gelu === 'gelu_exact' ? geluExactForward(z) : z;
}

/** Gradients of Σ dy ∘ y with respect to x, A, B and the bias (the base W is frozen). */
export function loraLinearBackward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dy: ArrayLike<number>,
  o: LoraLinearRef,
): { dx: Float64Array; dA: Float64Array; dB: Float64Array; dbias: Float64Array } {
  const { M, I, O, r, scale } = o;
  const { z, down } = preActivation(x, w, a, b, o);
  const dz =
    o.gelu === 'gelu'
      ? geluBackward(z, dy)
      : o.gelu === 'gelu_exact'
        ? geluExactBackward(z, dy)
        : Float64Array.from(dy);
  const base = matmulBackward(x, w, dz, M, I, O, { transposeB: o.transposeB });
  // up = down·Bᵀ enters Z times s
  const sdz = dz.map((v) => v * scale);
  const up = matmulBackward(down, b, sdz, M, r, O, { transposeB: true }); // da: d down (M, r), db: dB
  const inner = matmulBackward(dropped(x, o), a, up.da, M, I, r, { transposeB: true }); // da: d dropout(x), db: dA
  const adapted = dropped(inner.da, o);
  const dx = base.da.map((v, i) => v + adapted[i]);
  return { dx, dA: inner.db, dB: up.db, dbias: columnSum(dz, M, O) };
}
