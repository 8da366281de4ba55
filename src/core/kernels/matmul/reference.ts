// float64 references for the matmul family: the slow, obvious loops the kernels are checked against.
import { geluForward, geluBackward, geluExactForward, geluExactBackward } from '../gelu/reference.ts';

export interface MatmulRefOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  bias?: ArrayLike<number>;
  gelu?: boolean;
  /** with gelu: the exact GELU rather than gelu_new */
  exact?: boolean;
}

/** The GELU of the options: gelu_new or the exact one. */
const geluOf = (o: MatmulRefOptions) =>
  o.exact
    ? { forward: geluExactForward, backward: geluExactBackward }
    : { forward: geluForward, backward: geluBackward };

/** Flat index helpers: op(A)[m, k] and op(B)[k, n] for row-major A and B. */
function indexers(M: number, K: number, N: number, o: MatmulRefOptions) {
  return {
    ia: (m: number, k: number) => (o.transposeA ? k * M + m : m * K + k),
    ib: (k: number, n: number) => (o.transposeB ? n * K + k : k * N + n),
  };
}

/** Z = op(A)·op(B) [+ bias], (M, N). */
export function matmulPreActivation(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  o: MatmulRefOptions = {},
): Float64Array {
  const { ia, ib } = indexers(M, K, N, o);
  const z = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = o.bias ? o.bias[n] : 0;
      for (let k = 0; k < K; k++) s += a[ia(m, k)] * b[ib(k, n)];
      z[m * N + n] = s;
    }
  }
  return z;
}

/** C = op(A)·op(B) [+ bias] [then gelu_new or the exact GELU], (M, N). */
export function matmulForward(...args: Parameters<typeof matmulPreActivation>): Float64Array {
  const z = matmulPreActivation(...args);
  const o = args[5] ?? {};
  return o.gelu ? geluOf(o).forward(z) : z;
}

/** Σ_m x[m, n] of x (M, N). */
export function columnSum(x: ArrayLike<number>, M: number, N: number): Float64Array {
  const s = new Float64Array(N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) s[n] += x[m * N + n];
  return s;
}

/**
 * Gradients of Σ dC ∘ C with respect to A, B and bias, each in its own layout (dA has A's shape, so
 * (K, M) when transposeA). Accumulated element by element from the definition, with no transpose algebra.
 */
export function matmulBackward(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dc: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  o: MatmulRefOptions = {},
): { da: Float64Array; db: Float64Array; dbias: Float64Array } {
  const { ia, ib } = indexers(M, K, N, o);
  const dz = o.gelu ? geluOf(o).backward(matmulPreActivation(a, b, M, K, N, o), dc) : Float64Array.from(dc);
  const da = new Float64Array(M * K);
  const db = new Float64Array(K * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const g = dz[m * N + n];
      for (let k = 0; k < K; k++) {
        da[ia(m, k)] += g * b[ib(k, n)];
        db[ib(k, n)] += g * a[ia(m, k)];
      }
    }
  }
  return { da, db, dbias: columnSum(dz, M, N) };
}
