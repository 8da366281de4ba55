// float64 references for GPT-2's GELU (`gelu_new`) and the exact GELU.
const K = Math.sqrt(2 / Math.PI);

export function geluForward(x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(K * (v + 0.044715 * v * v * v)));
  }
  return y;
}

export function geluBackward(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const t = Math.tanh(K * (v + 0.044715 * v * v * v));
    const du = K * (1 + 3 * 0.044715 * v * v);
    dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
  }
  return dx;
}

/** erfc(x) to about 1e-14 relative: the Taylor series of erf below |x| = 2.5, a continued fraction above. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated from the tail.
  let f = x;
  for (let k = 80; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** The exact GELU, x·Φ(x) = 0.5·x·erfc(−x/√2) (PyTorch's nn.GELU(), HF's "gelu"). */
export const geluExactForward = (x: ArrayLike<number>): Float64Array =>
  Float64Array.from(x, (v) => 0.5 * v * erfc(-v / Math.SQRT2));

/** dx = dy·(Φ(x) + x·φ(x)). */
export const geluExactBackward = (x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array =>
  Float64Array.from(
    x,
    (v, i) => dy[i] * (0.5 * erfc(-v / Math.SQRT2) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)),
  );
