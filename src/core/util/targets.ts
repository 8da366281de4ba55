// The targets a next-token loss averages over, as Hugging Face marks them.

/** A target the loss skips: PyTorch's CrossEntropyLoss ignore_index, what Hugging Face's collators put at padding. */
export const IGNORE_INDEX = -100;

/** How many targets are not IGNORE_INDEX; with `vocabSize`, refuses one outside the vocabulary. */
export function countTargets(targets: ArrayLike<number>, vocabSize?: number): number {
  let count = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    if (vocabSize !== undefined && !(t >= 0 && t < vocabSize))
      throw new Error(`target id ${t} is outside the vocabulary (${vocabSize})`);
    count++;
  }
  return count;
}
