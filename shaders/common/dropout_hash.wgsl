// Include fragment (`// #include dropout_hash`): the counter-based hash behind every dropout mask, in dropout.wgsl and
// the attention kernels. Whether element `index` of row `group` is kept is a pure function of (seed, group, index);
// src/core/kernels/dropout/seeds.ts computes the same u32 arithmetic in TypeScript, so the float64 references
// reproduce the GPU's masks exactly.

// Chris Wellons' lowbias32: a bijective u32 mixer whose outputs for consecutive inputs look independent.
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

// A row's key, mixed once per row, so the per-element stage hashes only the index within the row.
fn dropoutRowKey(seed: u32, group: u32) -> u32 { return lowbias32(seed ^ lowbias32(group + 0x9e3779b9u)); }

// 32 random bits for element `index` of the row with key `key`; kept when they are ≥ the threshold.
fn dropoutBits(key: u32, index: u32) -> u32 { return lowbias32(lowbias32(index ^ key) + key); }
