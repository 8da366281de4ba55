// uPlot wants one x array and one y array per series, all the same length. Train loss is logged every
// logging_steps and eval loss every eval_steps, so the two are merged on their steps, with gaps (null) where
// a series has no point.

export interface LossPoint {
  step: number;
  loss: number;
}

export type AlignedLoss = [steps: number[], train: (number | null)[], evaluation: (number | null)[]];

export function alignLossSeries(train: readonly LossPoint[], evaluation: readonly LossPoint[]): AlignedLoss {
  const byStep = new Map<number, [number | null, number | null]>();
  for (const p of train) byStep.set(p.step, [p.loss, byStep.get(p.step)?.[1] ?? null]);
  for (const p of evaluation) byStep.set(p.step, [byStep.get(p.step)?.[0] ?? null, p.loss]);
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  // uPlot draws no line through NaN or ±Infinity; a diverged loss shows as a gap, and is reported in words.
  const clean = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);
  return [steps, steps.map((s) => clean(byStep.get(s)![0])), steps.map((s) => clean(byStep.get(s)![1]))];
}
