// Dropout masks from a counter-based hash: no RNG state and nothing read back from the GPU. Whether element
// `index` of row `group` is kept is a pure function of (seed, group, index), computed the same way here (u32
// arithmetic through Math.imul) and in WGSL (shaders/common/dropout_hash.wgsl), so the float64 references reproduce
// the GPU's masks exactly and a recomputed forward (gradient checkpointing) draws the same mask. The model and the
// trainer take their seeds from here; reference.ts applies the masks in float64, for the tests.
//
// Two stages keep every index inside u32 at GPT-2's sizes: attention hashes its (b, head) pair into a row key, then
// the score's i·T + j under that key; elementwise dropout on (M, C) uses the row m and the column c.

/** Chris Wellons' lowbias32: a bijective u32 mixer whose outputs for consecutive inputs look independent. */
export function lowbias32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A row's key: mixed once per row, so the per-element stage hashes only the index within the row. */
export function dropoutRowKey(seed: number, group: number): number {
  return lowbias32((seed ^ lowbias32((group + 0x9e3779b9) >>> 0)) >>> 0);
}

/** 32 random bits for element `index` of the row with key `key` (two rounds, so rows are not shifts of one another). */
export function dropoutBits(key: number, index: number): number {
  return lowbias32((lowbias32((index ^ key) >>> 0) + key) >>> 0);
}

/** An element is kept when its bits are ≥ this: a fraction p of the 2³² values fall below it. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  return Math.min(0xffffffff, Math.round(p * 4294967296));
}

/** The dropout sites of a GPT-2 block, as HF's GPT2Block applies them (attn_dropout, resid_dropout, mlp.dropout). */
export const DROPOUT_SITES = { attention: 0, attentionResidual: 1, mlpResidual: 2, embedding: 3 } as const;
export type DropoutSite = keyof typeof DROPOUT_SITES;

/**
 * One seed per (layer, site) from a training step's seed: a block recomputed for gradient checkpointing draws the
 * masks it drew in the forward pass. The embeddings' site uses layer −1.
 */
export function siteSeed(stepSeed: number, layer: number, site: DropoutSite): number {
  return dropoutRowKey(dropoutRowKey(stepSeed, (layer + 1) >>> 0), DROPOUT_SITES[site]);
}

/** A micro-batch's seed from the run's seed, the optimizer step and the micro-batch within it. */
export function stepSeed(seed: number, step: number, microBatch: number): number {
  return dropoutRowKey(dropoutRowKey(seed >>> 0, step >>> 0), microBatch >>> 0);
}
