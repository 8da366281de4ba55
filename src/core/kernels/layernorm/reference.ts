// float64 references for LayerNorm over the last dim; x is (rows, cols) row-major.

export interface LayerNormForward {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

export function layerNormForward(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): LayerNormForward {
  const y = new Float64Array(rows * cols);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[o + c];
    const mu = s / cols;
    let q = 0;
    for (let c = 0; c < cols; c++) q += (x[o + c] - mu) ** 2;
    const rs = 1 / Math.sqrt(q / cols + eps);
    for (let c = 0; c < cols; c++) y[o + c] = (x[o + c] - mu) * rs * weight[c] + bias[c];
    mean[r] = mu;
    rstd[r] = rs;
  }
  return { y, mean, rstd };
}

export function layerNormBackward(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { mean, rstd } = layerNormForward(x, weight, new Float64Array(cols), rows, cols, eps);
  const dx = new Float64Array(rows * cols);
  const dweight = new Float64Array(cols);
  const dbias = new Float64Array(cols);
  const xhat = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sumG = 0;
    let sumGXhat = 0;
    for (let c = 0; c < cols; c++) {
      xhat[c] = (x[o + c] - mean[r]) * rstd[r];
      const g = dy[o + c] * weight[c];
      sumG += g;
      sumGXhat += g * xhat[c];
      dweight[c] += dy[o + c] * xhat[c];
      dbias[c] += dy[o + c];
    }
    for (let c = 0; c < cols; c++) {
      const g = dy[o + c] * weight[c];
      dx[o + c] = rstd[r] * (g - sumG / cols - xhat[c] * (sumGXhat / cols));
    }
  }
  return { dx, dweight, dbias };
}

/** s = x + residual and LayerNorm(s), and the gradients given ds (reaching s from the residual stream) and dy:
 * d(x) = d(residual) = ds + LayerNorm's dx at s. */
export function addLayerNormReference(
  x: ArrayLike<number>,
  residual: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  ds: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): { s: Float64Array; y: Float64Array; dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const s = new Float64Array(rows * cols);
  for (let i = 0; i < s.length; i++) s[i] = x[i] + residual[i];
  const { y } = layerNormForward(s, weight, bias, rows, cols, eps);
  const g = layerNormBackward(s, weight, dy, rows, cols, eps);
  const dx = g.dx.map((v, i) => v + ds[i]);
  return { s, y, dx, dweight: g.dweight, dbias: g.dbias };
}
