// Learning-rate schedules with Hugging Face's formulas (transformers.optimization), so a run here and the same
// run in PyTorch use the same rate at every step. `step` counts optimizer updates already applied: the first
// update uses step 0 (HF calls scheduler.step() after optimizer.step()).

export type SchedulerType = 'linear' | 'cosine' | 'constant' | 'constant_with_warmup';
export const SCHEDULER_TYPES: SchedulerType[] = ['linear', 'cosine', 'constant', 'constant_with_warmup'];

/** The multiplier of the base learning rate at `step`. */
export function lrLambda(type: SchedulerType, step: number, warmupSteps: number, totalSteps: number): number {
  switch (type) {
    case 'constant':
      return 1;
    case 'constant_with_warmup':
      return step < warmupSteps ? step / Math.max(1, warmupSteps) : 1;
    case 'linear':
      if (step < warmupSteps) return step / Math.max(1, warmupSteps);
      return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    case 'cosine': {
      if (step < warmupSteps) return step / Math.max(1, warmupSteps);
      const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress))); // num_cycles = 0.5
    }
  }
}

/** HF's TrainingArguments.get_warmup_steps: warmup_steps when set, else ceil(total × warmup_ratio). */
export function warmupStepsFor(totalSteps: number, warmupSteps: number, warmupRatio: number): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}
