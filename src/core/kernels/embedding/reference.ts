// float64 references for GPT-2's token + position embedding. wte (V, C), wpe (n_positions, C) row-major. Token p
// (= b·T + t) sits at position t, or with packed rows (`positions`, B·T) at positions[p].

export function embeddingForward(
  tokens: ArrayLike<number>,
  batch: number,
  seqLen: number,
  wte: ArrayLike<number>,
  wpe: ArrayLike<number>,
  channels: number,
  positions?: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(batch * seqLen * channels);
  for (let p = 0; p < batch * seqLen; p++) {
    const t = positions ? positions[p] : p % seqLen;
    for (let c = 0; c < channels; c++) out[p * channels + c] = wte[tokens[p] * channels + c] + wpe[t * channels + c];
  }
  return out;
}

export function embeddingBackward(
  tokens: ArrayLike<number>,
  batch: number,
  seqLen: number,
  dout: ArrayLike<number>,
  vocab: number,
  nPositions: number,
  channels: number,
  positions?: ArrayLike<number>,
): { dwte: Float64Array; dwpe: Float64Array } {
  const dwte = new Float64Array(vocab * channels);
  const dwpe = new Float64Array(nPositions * channels);
  for (let p = 0; p < batch * seqLen; p++) {
    const t = positions ? positions[p] : p % seqLen;
    for (let c = 0; c < channels; c++) {
      dwte[tokens[p] * channels + c] += dout[p * channels + c];
      dwpe[t * channels + c] += dout[p * channels + c];
    }
  }
  return { dwte, dwpe };
}
