// float64 reference for SwiGLU's gating, y = silu(gate)·up, and its gradients.

const sigmoid = (g: number): number => 1 / (1 + Math.exp(-g));

export function swigluForward(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  return Float64Array.from(gate, (g, i) => g * sigmoid(g) * up[i]);
}

export function swigluBackward(
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  dy: ArrayLike<number>,
): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(gate.length);
  const dup = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const s = sigmoid(gate[i]);
    dgate[i] = dy[i] * up[i] * s * (1 + gate[i] * (1 - s));
    dup[i] = dy[i] * gate[i] * s;
  }
  return { dgate, dup };
}
