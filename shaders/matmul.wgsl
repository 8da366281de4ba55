// C = op(A)·op(B) [+ bias] [then gelu_new], op(X) = X or Xᵀ, all row-major f32.
//   op(A) is (M, K): A is (M, K), or (K, M) when TRANSPOSE_A
//   op(B) is (K, N): B is (K, N), or (N, K) when TRANSPOSE_B
// The backward products (dX = dY·Wᵀ, dW = Xᵀ·dY) are this same kernel with the flags set, so no
// transpose is ever materialised. The mixed-precision matmul (f16 operands, f32 accumulation) is this file with
// one or both operand regions replaced (common/matmul_load_a_f16.wgsl, common/matmul_load_b_f16.wgsl), so the
// tiling exists once.
//
// The epilogue region writes the result: here C alone (bindings a, b, c; uniform at 3); the bias and bias + GELU
// epilogues replace it (common/matmul_epilogue_bias.wgsl, common/matmul_epilogue_bias_gelu.wgsl), shared with
// matmul_rows.wgsl.
// Dispatch: (ceil(N / TILE), ceil(M / TILE)) workgroups of (TILE / 8)² threads. A workgroup owns a TILE×TILE tile
// of C (64×64: 8×8 threads), a thread an 8×8 block of it in registers, accumulated over K-slices of 16 staged in
// workgroup memory (2 × 16 × 17 vec4 ≈ 8.5 KiB, half the 16 KiB portable limit). An 8×8 block reads 4 vec4s from
// workgroup memory per 64 multiply-adds; on SwiftShader it ran 2× faster than 16×16 threads of 4×4.
// The block product is written out by hand: SwiftShader keeps loop-indexed private arrays in memory.
// Global loads are scalar and bounds-checked (any M, K, N, including 1). vec4 loads would need every row
// to start on 16 bytes (K or N a multiple of 4) and buffers of at least 16 bytes, which odd sizes do not
// give; instead neighbouring threads read neighbouring addresses, so loads coalesce for every transpose.

struct Params { M: u32, N: u32, K: u32, }

const TRANSPOSE_A: bool = false;
const TRANSPOSE_B: bool = false;

const TILE: u32 = 64u;      // C tile edge per workgroup: a multiple of BLOCK (the caller's dispatch divides by it)
const BLOCK: u32 = 8u;      // C block edge per thread (blockProduct is written out for 8)
const THREADS: u32 = TILE / BLOCK; // threads along each edge of the workgroup
const KT: u32 = 16u;        // K-slice staged in workgroup memory
const TILE_VEC4S: u32 = TILE / 4u;
// Row stride of the staged tiles in vec4s: TILE_VEC4S would do, one more keeps stores off a single bank.
const STRIDE: u32 = TILE_VEC4S + 1u;
// vec4s each thread stages into each tile per K-slice
const STAGED_PER_THREAD: u32 = KT * TILE_VEC4S / (THREADS * THREADS);

// a and b (bindings 0 and 1) are declared with their loads, in the operand regions below.

// #region epilogue: C alone; common/matmul_epilogue_bias.wgsl and _bias_gelu.wgsl replace it
// #include matmul_epilogue_none
// #endregion epilogue

// tileA[k * STRIDE + i][r] = op(A)[m0 + 4i + r, k0 + k]; tileB[k * STRIDE + j][r] = op(B)[k0 + k, n0 + 4j + r]
var<workgroup> tileA: array<vec4<f32>, KT * STRIDE>;
var<workgroup> tileB: array<vec4<f32>, KT * STRIDE>;

// Each operand's binding and load, in its own region: f32 here; common/matmul_load_a_f16.wgsl and
// matmul_load_b_f16.wgsl replace them for f16 operands, one or both (a frozen f16 weight beside an f32 activation).
// #region operand_a: A in f32
// #include matmul_load_a_f32
// #endregion operand_a
// #region operand_b: B in f32
// #include matmul_load_b_f32
// #endregion operand_b

// Stages op(A)[m0.., k0..] and op(B)[k0.., n0..], whole vec4s at a time. Between neighbouring threads
// the index that varies fastest is the one contiguous in memory, so each scalar load coalesces.
fn stageSlice(p: Params, t: u32, m0: u32, n0: u32, k0: u32) {
  for (var s = 0u; s < STAGED_PER_THREAD; s++) {
    let e = t + s * THREADS * THREADS;
    var k: u32; var i: u32;
    if (TRANSPOSE_A) { k = e / TILE_VEC4S; i = e % TILE_VEC4S; } else { k = e % KT; i = e / KT; }
    let m = m0 + i * 4u;
    let kA = k0 + k;
    tileA[k * STRIDE + i] = vec4(loadA(p, m, kA), loadA(p, m + 1u, kA), loadA(p, m + 2u, kA), loadA(p, m + 3u, kA));
    if (TRANSPOSE_B) { k = e % KT; i = e / KT; } else { k = e / TILE_VEC4S; i = e % TILE_VEC4S; }
    let n = n0 + i * 4u;
    let kB = k0 + k;
    tileB[k * STRIDE + i] = vec4(loadB(p, kB, n), loadB(p, kB, n + 1u), loadB(p, kB, n + 2u), loadB(p, kB, n + 3u));
  }
}

// This thread's 8×8 block of op(A)·op(B): acc[2r + h][j] is row m0 + 8·lid.y + r, column
// n0 + 8·lid.x + 4h + j.
fn blockProduct(p: Params, lid: vec3<u32>, wid: vec3<u32>) -> array<vec4<f32>, 16> {
  let t = lid.y * THREADS + lid.x;
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  var acc: array<vec4<f32>, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += KT) {
    stageSlice(p, t, m0, n0, k0);
    workgroupBarrier();
    for (var k = 0u; k < KT; k++) {
      let a0 = tileA[k * STRIDE + lid.y * 2u];      // rows 0..3 of the block
      let a1 = tileA[k * STRIDE + lid.y * 2u + 1u]; // rows 4..7
      let b0 = tileB[k * STRIDE + lid.x * 2u];      // columns 0..3
      let b1 = tileB[k * STRIDE + lid.x * 2u + 1u]; // columns 4..7
      acc[0] += a0.x * b0;  acc[1] += a0.x * b1;
      acc[2] += a0.y * b0;  acc[3] += a0.y * b1;
      acc[4] += a0.z * b0;  acc[5] += a0.z * b1;
      acc[6] += a0.w * b0;  acc[7] += a0.w * b1;
      acc[8] += a1.x * b0;  acc[9] += a1.x * b1;
      acc[10] += a1.y * b0; acc[11] += a1.y * b1;
      acc[12] += a1.z * b0; acc[13] += a1.z * b1;
      acc[14] += a1.w * b0; acc[15] += a1.w * b1;
    }
    workgroupBarrier();
  }
  return acc;
}

@compute @workgroup_size(THREADS, THREADS)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = params;
  let acc = blockProduct(p, lid, wid);
  let n = wid.x * TILE + lid.x * BLOCK;
  for (var r = 0u; r < BLOCK; r++) {
    let m = wid.y * TILE + lid.y * BLOCK + r;
    if (m >= p.M) { break; }
    for (var j = 0u; j < BLOCK; j++) {
      if (n + j < p.N) { store(p, m, n + j, acc[2u * r + j / 4u][j % 4u]); }
    }
  }
}
