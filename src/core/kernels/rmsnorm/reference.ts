// float64 references for RMSNorm over the last dim (Llama's LlamaRMSNorm); x is (rows, cols) row-major.

export function rmsNormForward(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * cols);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let q = 0;
    for (let c = 0; c < cols; c++) q += x[o + c] ** 2;
    const rs = 1 / Math.sqrt(q / cols + eps);
    for (let c = 0; c < cols; c++) y[o + c] = x[o + c] * rs * weight[c];
    rstd[r] = rs;
  }
  return { y, rstd };
}

/** Gradients of Σ dy·y for y = rmsNorm(x): dx = rstd·(g − x̂·mean(g·x̂)), g = dy·w, x̂ = x·rstd; dweight = Σ dy·x̂. */
export function rmsNormBackward(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): { dx: Float64Array; dweight: Float64Array } {
  const { rstd } = rmsNormForward(x, weight, rows, cols, eps);
  const dx = new Float64Array(rows * cols);
  const dweight = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const xhat = x[o + c] * rstd[r];
      sum += dy[o + c] * weight[c] * xhat;
      dweight[c] += dy[o + c] * xhat;
    }
    const m = sum / cols;
    for (let c = 0; c < cols; c++) dx[o + c] = rstd[r] * (dy[o + c] * weight[c] - x[o + c] * rstd[r] * m);
  }
  return { dx, dweight };
}

/** s = x + residual and RMSNorm(s), and the gradients given ds (reaching s from the residual stream) and dy:
 * d(x) = d(residual) = ds + RMSNorm's dx at s. */
export function addRmsNormReference(
  x: ArrayLike<number>,
  residual: ArrayLike<number>,
  weight: ArrayLike<number>,
  ds: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): { s: Float64Array; y: Float64Array; dx: Float64Array; dweight: Float64Array } {
  const s = new Float64Array(rows * cols);
  for (let i = 0; i < s.length; i++) s[i] = x[i] + residual[i];
  const { y } = rmsNormForward(s, weight, rows, cols, eps);
  const g = rmsNormBackward(s, weight, dy, rows, cols, eps);
  return { s, y, dx: g.dx.map((v, i) => v + ds[i]), dweight: g.dweight };
}
