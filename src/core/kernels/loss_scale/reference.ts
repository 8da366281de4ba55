// The reference for dynamic loss scaling: PyTorch's GradScaler.update (torch._amp_update_scale_) on plain numbers,
// with the step count AdamW's bias correction uses (PyTorch's optimizer never sees a skipped step).
import type { LossScaleState, LossScaleUpdateOptions } from './index.ts';

export function lossScaleUpdate(
  s: LossScaleState,
  gradientsFinite: boolean,
  o: LossScaleUpdateOptions,
): LossScaleState {
  const used = s.scale;
  const next: LossScaleState = { ...s, invScaleUsed: Math.fround(1 / used) };
  if (!gradientsFinite) {
    return {
      ...next,
      foundInf: true,
      skippedSteps: s.skippedSteps + 1,
      scale: Math.fround(used * o.backoffFactor),
      growthTracker: 0,
    };
  }
  next.foundInf = false;
  next.appliedSteps = s.appliedSteps + 1;
  next.growthTracker = s.growthTracker + 1;
  if (next.growthTracker >= o.growthInterval) {
    const grown = Math.fround(used * o.growthFactor);
    if (Number.isFinite(grown)) next.scale = grown;
    next.growthTracker = 0;
  }
  return next;
}
