// save_total_limit as Hugging Face's Trainer applies it: keep the newest N checkpoints; with
// keepBest the best one (lowest eval loss) survives too, taking the place of the oldest of the N,
// and with N = 1 a best that is not the newest makes two. Shared by the browser store and the CLI.

export interface RotationCandidate {
  id: string;
  step: number | null;
  createdAt: number;
  evalLoss: number | null;
}

export function checkpointsToDelete(
  candidates: readonly RotationCandidate[],
  saveTotalLimit: number | null | undefined,
  keepBest = false,
): string[] {
  if (!saveTotalLimit || saveTotalLimit <= 0) return [];
  const sorted = [...candidates].sort((a, b) => (a.step ?? -1) - (b.step ?? -1) || a.createdAt - b.createdAt);
  let limit = saveTotalLimit;
  if (keepBest) {
    const best = bestByEvalLoss(sorted);
    if (best) {
      // Move the best to just before the newest, as HF's _sorted_checkpoints does.
      const i = sorted.indexOf(best);
      if (i < sorted.length - 1) {
        sorted.splice(i, 1);
        sorted.splice(sorted.length - 1, 0, best);
        if (limit === 1) limit = 2;
      }
    }
  }
  return sorted.slice(0, Math.max(0, sorted.length - limit)).map((c) => c.id);
}

export function bestByEvalLoss<T extends { evalLoss: number | null }>(list: readonly T[]): T | null {
  let best: T | null = null;
  for (const c of list) {
    if (c.evalLoss === null || !Number.isFinite(c.evalLoss)) continue;
    if (!best || c.evalLoss < best.evalLoss!) best = c;
  }
  return best;
}
