// The page's LoRA fields (PEFT's LoraConfig: r, lora_alpha, lora_dropout, target_modules, use_rslora) read from their
// text, and checked against the chosen model by the core's own checks, so that a config the run would refuse is
// refused here with the same message.
import { familyOf, type ModelDims } from '../core/model/families/index.ts';
import type { LoraMemoryTerms } from '../core/model/memory.ts';
import { DEFAULT_LORA_CONFIG, LoraConfigError, targetModulesOf, type LoraConfig } from '../core/model/lora/config.ts';
import { loraTrainingTerms } from '../core/train/lora_training.ts';

export interface LoraText {
  r: string;
  lora_alpha: string;
  lora_dropout: string;
  /** names separated by commas, "all-linear", or empty for PEFT's default for the model type */
  target_modules: string;
  use_rslora: boolean;
}

export const defaultLoraText = (): LoraText => ({
  r: String(DEFAULT_LORA_CONFIG.r),
  lora_alpha: String(DEFAULT_LORA_CONFIG.lora_alpha),
  lora_dropout: String(DEFAULT_LORA_CONFIG.lora_dropout),
  target_modules: '',
  use_rslora: DEFAULT_LORA_CONFIG.use_rslora,
});

export type LoraField = 'r' | 'lora_alpha' | 'lora_dropout' | 'target_modules';

export interface ParsedLora {
  /** the config when every field reads and the model takes it */
  config: LoraConfig | null;
  /** what the adapter adds to a step (memory.ts's LoRA terms), with `config` */
  terms: LoraMemoryTerms | null;
  /** a field's own problem (not a number, ...) */
  problems: Map<LoraField, string>;
  /** the core's refusal of the config on this model (a target matching nothing, r above a side) */
  modelProblem: string | null;
}

/** target_modules from its text: null (PEFT's default) when empty, "all-linear", or the names listed. */
export function targetModulesFromText(text: string): string[] | string | null {
  const t = text.trim();
  if (t === '') return null;
  if (t.toLowerCase() === 'all-linear') return 'all-linear';
  return t.split(',').map((s) => s.trim());
}

/** The fields read, and the config checked against the model of `dims` (when there is one). */
export function parseLora(text: LoraText, dims: ModelDims | null): ParsedLora {
  const problems = new Map<LoraField, string>();
  const num = (name: LoraField, value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v)) problems.set(name, 'must be a number');
    return v;
  };
  const r = num('r', text.r);
  if (!problems.has('r') && !(Number.isInteger(r) && r > 0)) problems.set('r', 'must be a whole number above 0');
  const alpha = num('lora_alpha', text.lora_alpha);
  const dropout = num('lora_dropout', text.lora_dropout);
  if (!problems.has('lora_dropout') && !(dropout >= 0 && dropout < 1))
    problems.set('lora_dropout', 'must be from 0 up to (not including) 1');
  const targets = targetModulesFromText(text.target_modules);
  if (Array.isArray(targets) && targets.some((s) => s === ''))
    problems.set('target_modules', 'takes module names separated by commas, or all-linear');
  if (problems.size || !dims) return { config: null, terms: null, problems, modelProblem: null };
  const config: LoraConfig = {
    ...DEFAULT_LORA_CONFIG,
    r,
    lora_alpha: alpha,
    lora_dropout: dropout,
    target_modules: targets,
    use_rslora: text.use_rslora,
  };
  try {
    const terms = loraTrainingTerms(dims, config);
    return { config, terms, problems, modelProblem: null };
  } catch (e) {
    if (!(e instanceof LoraConfigError)) throw e;
    return { config: null, terms: null, problems, modelProblem: e.message };
  }
}

/** The model's linear modules by their short names ("q_proj, k_proj, ..."), and PEFT's default targets, for help. */
export function linearModulesOf(dims: ModelDims): { names: string[]; defaults: string } {
  const family = familyOf(dims);
  const names = [...new Set((family.linearLayers?.(dims) ?? []).map((l) => l.module.split('.').pop()!))];
  let defaults: string;
  try {
    const t = targetModulesOf(family, DEFAULT_LORA_CONFIG);
    defaults = Array.isArray(t) ? t.join(', ') : t;
  } catch {
    defaults = '';
  }
  return { names, defaults };
}
