// LoRA's configuration under Hugging Face PEFT's names and meanings (peft.LoraConfig), and what it selects in a
// model: the linear layers it adapts (target_modules, matched as PEFT matches them against the module names of the
// *ForCausalLM model) and the parameters trained in full beside them (modules_to_save).
import type { HfWeightNames, ModelFamily } from '../family.ts';
import type { LinearLayer } from '../linear.ts';

export interface LoraConfig {
  /** the adapters' rank */
  r: number;
  lora_alpha: number;
  /** dropout on each adapter's input, in training steps only */
  lora_dropout: number;
  /**
   * module names, each matching a module whose full name is the name or ends in ".name"; or one string: a regular
   * expression the whole name must match, or "all-linear" (every linear layer except the output head); null: PEFT's
   * default for the model type
   */
  target_modules: string[] | string | null;
  /** which biases train: PEFT's "none" only */
  bias: 'none';
  /** scale lora_alpha/√r (rank-stabilised) instead of lora_alpha/r */
  use_rslora: boolean;
  /** modules trained in full and saved with the adapter (a head, an embedding), matched as target_modules lists */
  modules_to_save: string[] | null;
}

/** peft.LoraConfig's defaults. */
export const DEFAULT_LORA_CONFIG: LoraConfig = {
  r: 8,
  lora_alpha: 8,
  lora_dropout: 0,
  target_modules: null,
  bias: 'none',
  use_rslora: false,
  modules_to_save: null,
};

/** PEFT's target_modules when a config names none (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
const DEFAULT_TARGETS: Record<string, string[]> = {
  gpt2: ['c_attn'],
  gpt_neox: ['query_key_value'],
  gpt_neo: ['q_proj', 'v_proj'],
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
};

export class LoraConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoraConfigError';
  }
}

/** The factor on the adapters' product: lora_alpha / r, or lora_alpha / √r with use_rslora. */
export function loraScale(c: LoraConfig): number {
  return c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;
}

/** Refuses values PEFT would not train with, naming the field. */
export function validateLoraConfig(c: LoraConfig): void {
  if (!(Number.isInteger(c.r) && c.r > 0))
    throw new LoraConfigError(`LoRA r must be a whole number above 0, got ${c.r}`);
  if (!(typeof c.lora_alpha === 'number' && Number.isFinite(c.lora_alpha)))
    throw new LoraConfigError(`LoRA lora_alpha must be a number, got ${c.lora_alpha}`);
  if (!(c.lora_dropout >= 0 && c.lora_dropout < 1))
    throw new LoraConfigError(`LoRA lora_dropout must be from 0 up to (not including) 1, got ${c.lora_dropout}`);
  if (c.bias !== 'none')
    throw new LoraConfigError(
      `LoRA bias "${String(c.bias)}" is not supported: Hearth trains adapters with bias "none"`,
    );
  const t = c.target_modules;
  if (Array.isArray(t) ? t.length === 0 || t.some((m) => typeof m !== 'string' || m === '') : t === '')
    throw new LoraConfigError('LoRA target_modules must name at least one module');
}

/** A module's name in the *ForCausalLM model, where PEFT matches it: the base model's prefix, unless outside it. */
export function fullModuleName(w: HfWeightNames, module: string): string {
  return w.outsidePrefix?.includes(`${module}.weight`) ? module : `${w.prefix}${module}`;
}

/** PEFT's check_target_module_exists for a list: the name itself, or a name ending in ".key". */
const listMatches = (keys: string[], full: string) => keys.some((k) => full === k || full.endsWith(`.${k}`));

/** The family's linear layers, refusing a family that does not declare them. */
function linearsOf<D>(family: ModelFamily<D>, d: D): LinearLayer[] {
  if (!family.linearLayers)
    throw new LoraConfigError(`LoRA: the ${family.label} family does not declare its linear layers`);
  return family.linearLayers(d);
}

/** The target_modules a config means: its own, or PEFT's default for the model type. */
export function targetModulesOf<D>(family: ModelFamily<D>, c: LoraConfig): string[] | string {
  if (c.target_modules !== null) return c.target_modules;
  const t = DEFAULT_TARGETS[family.modelType];
  if (!t)
    throw new LoraConfigError(
      `LoRA target_modules must be given for ${family.label} models (PEFT has no default for them)`,
    );
  return t;
}

/** The layers' distinct short names and a full name, for messages:
 * "c_attn, c_proj, c_fc (e.g. transformer.h.0.attn.c_attn)". */
function describeLinears<D>(family: ModelFamily<D>, layers: LinearLayer[]): string {
  const short = [...new Set(layers.map((l) => l.module.split('.').pop()!))];
  const f = family.hfWeights;
  return `${short.join(', ')}${layers.length ? ` (e.g. ${fullModuleName(f, layers[0].module)})` : ''}`;
}

/**
 * The linear layers an adapter of this config attaches to, in the family's order. Refuses targets that match no
 * layer (naming the layers there are) and a rank above a targeted layer's smaller side.
 */
export function resolveTargets<D>(family: ModelFamily<D>, d: D, c: LoraConfig): LinearLayer[] {
  validateLoraConfig(c);
  const layers = linearsOf(family, d);
  const t = targetModulesOf(family, c);
  const f = family.hfWeights;
  let match: (full: string) => boolean;
  if (typeof t === 'string' && t.toLowerCase() === 'all-linear') match = () => true;
  else if (typeof t === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${t})$`);
    } catch (e) {
      throw new LoraConfigError(`LoRA target_modules "${t}" is not a regular expression: ${(e as Error).message}`);
    }
    match = (full) => re.test(full);
  } else match = (full) => listMatches(t, full);
  const targets = layers.filter((l) => match(fullModuleName(f, l.module)));
  if (targets.length === 0) {
    const asked = typeof t === 'string' ? `"${t}"` : `[${t.join(', ')}]`;
    throw new LoraConfigError(
      `LoRA target_modules ${asked} match no linear layer of this ${family.label} model; its linear layers are ${describeLinears(family, layers)}`,
    );
  }
  for (const l of targets) {
    if (c.r > Math.min(l.inFeatures, l.outFeatures))
      throw new LoraConfigError(
        `LoRA r ${c.r} exceeds the sides of ${fullModuleName(f, l.module)} (${l.inFeatures} in, ${l.outFeatures} out): r must be at most ${Math.min(l.inFeatures, l.outFeatures)}`,
      );
  }
  return targets;
}

/**
 * What an adapter of this config adds to a training step of the model on Hearth's kernels (memory.ts's LoRA terms);
 * with `halfBase`, how many frozen weight values the base holds in f16 (CausalLM.attachLora's halfBase).
 */
export function loraMemoryTerms<D>(
  family: ModelFamily<D>,
  d: D,
  c: LoraConfig,
  o: { halfBase?: boolean } = {},
): { parameters: number; perRow: number; largest: number; halfBase: number } {
  const targets = resolveTargets(family, d, c);
  const saved = resolveModulesToSave(family, d, c, targets);
  const shapes = new Map(family.parameterShapes(d));
  const size = (name: string) => shapes.get(name)!.reduce((a, b) => a * b, 1);
  const blocks = family.sizes(d).num_hidden_layers;
  const frozen = o.halfBase
    ? linearsOf(family, d)
        .map((l) => `${l.module}.weight`)
        .filter((name) => !saved.includes(name))
    : [];
  return {
    parameters:
      targets.reduce((n, l) => n + c.r * (l.inFeatures + l.outFeatures), 0) +
      saved.reduce((n, name) => n + size(name), 0),
    // per block, averaged over all of them: the fused op keeps each adapted layer's (M, r) down product, and its
    // backward makes one (M, r) gradient of it
    perRow: (targets.length * c.r) / blocks,
    largest: Math.max(...targets.map((l) => c.r * Math.max(l.inFeatures, l.outFeatures)), ...saved.map(size)),
    halfBase: frozen.reduce((n, name) => n + size(name), 0),
  };
}

/** The parameters modules_to_save trains in full (every parameter of each module it matches); none is refused. */
export function resolveModulesToSave<D>(family: ModelFamily<D>, d: D, c: LoraConfig, targets: LinearLayer[]): string[] {
  const modules = c.modules_to_save;
  if (!modules || modules.length === 0) return [];
  const f = family.hfWeights;
  const adapted = new Set(targets.map((l) => l.module));
  const names: string[] = [];
  for (const [name] of family.parameterShapes(d)) {
    const module = name.slice(0, name.lastIndexOf('.'));
    if (listMatches(modules, fullModuleName(f, module))) {
      if (adapted.has(module))
        throw new LoraConfigError(`LoRA modules_to_save names ${module}, which target_modules already adapts`);
      names.push(name);
    }
  }
  if (names.length === 0)
    throw new LoraConfigError(
      `LoRA modules_to_save [${modules.join(', ')}] match no module of this ${family.label} model`,
    );
  return names;
}
