// The shapes and variants the matmul kernel tests share (f32 and f16 operands).

export type Epilogue = 'none' | 'bias' | 'gelu';

// (M, K, N) from the odd sizes, with 1 in every position and each size off the 64-wide tile.
export const MATMUL_SHAPES: [number, number, number][] = [
  [1, 7, 33],
  [33, 1, 7],
  [7, 33, 1],
  [65, 130, 7],
  [130, 65, 33],
  [33, 130, 65],
  [130, 7, 130],
  [1, 1, 1],
];

/** Every transpose combination with every epilogue. */
export const MATMUL_VARIANTS: { transposeA: boolean; transposeB: boolean; epilogue: Epilogue }[] = [];
for (const epilogue of ['none', 'bias', 'gelu'] as const) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) MATMUL_VARIANTS.push({ transposeA, transposeB, epilogue });
  }
}
