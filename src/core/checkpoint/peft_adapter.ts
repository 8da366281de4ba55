// A LoRA adapter as Hugging Face PEFT saves one (save_pretrained of a PeftModel): adapter_config.json (LoraConfig's
// fields, peft_type LORA, task_type CAUSAL_LM) and adapter_model.safetensors, each tensor under its module's name in
// the *ForCausalLM model behind PEFT's 'base_model.model.': '<module>.lora_A.weight' [r, in] and
// '<module>.lora_B.weight' [out, r], and modules_to_save's parameters under their own names. Reading checks the whole
// adapter against its base model (every tensor there, with the base's shapes, nothing else) before returning anything;
// merging folds it into the base's weights (merge_and_unload).
import { familyOf, type ModelConfig } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import type { LinearLayer } from '../model/linear.ts';
import { loraShapes, mergeLora } from '../model/lora/adapter.ts';
import {
  fullModuleName,
  LoraConfigError,
  resolveModulesToSave,
  resolveTargets,
  targetModulesOf,
  type LoraConfig,
} from '../model/lora/config.ts';
import { CheckpointError, invalid } from './errors.ts';
import type { CheckpointFiles, HearthCheckpoint } from './hf_folder.ts';
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import { parseStrictJson, type JsonObject } from './strict_json.ts';
import { modelParameterShapes } from './weights.ts';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** PEFT's prefix of every saved tensor: the PeftModel's base_model (LoraModel) and its model. */
const PEFT_PREFIX = 'base_model.model.';

/** An adapter read against its base model: its config, and its tensors under Hearth's names, checked. */
export interface PeftAdapter {
  config: LoraConfig;
  /** adapter_config.json's base_model_name_or_path */
  baseModel: string | null;
  /** the adapted layers, in the family's order */
  targets: LinearLayer[];
  /** '<module>.lora_A.weight', '<module>.lora_B.weight', and modules_to_save's parameters by their Hearth names */
  tensors: NamedTensors;
}

const encoder = new TextEncoder();

/** A tensor's name in adapter_model.safetensors, from its Hearth name. */
function peftName(name: string, c: ModelConfig): string {
  const dot = name.lastIndexOf('.');
  const lora = name.match(/^(.*)\.(lora_[AB]\.weight)$/);
  const w = familyOf(c).hfWeights;
  if (lora) return `${PEFT_PREFIX}${fullModuleName(w, lora[1])}.${lora[2]}`;
  return `${PEFT_PREFIX}${fullModuleName(w, name.slice(0, dot))}${name.slice(dot)}`;
}

/** target_modules as PEFT saves them: "all-linear" resolved to the layers' names, as get_peft_model leaves it. */
function savedTargets(c: ModelConfig, config: LoraConfig, targets: LinearLayer[]): string[] | string {
  const t = targetModulesOf(familyOf(c), config);
  if (typeof t === 'string' && t.toLowerCase() === 'all-linear')
    return [...new Set(targets.map((l) => l.module.split('.').pop()!))].sort();
  return t;
}

/**
 * adapter_config.json and adapter_model.safetensors (float32) of an adapter on a model of config `c`, as PEFT writes
 * them; `tensors` as CausalLM.adapterArrays gives them.
 */
export function adapterToFiles(
  c: ModelConfig,
  config: LoraConfig,
  tensors: NamedTensors,
  baseModel: string | null,
): CheckpointFiles {
  const family = familyOf(c);
  const targets = resolveTargets(family, c, config);
  const saved = resolveModulesToSave(family, c, config, targets);
  const names = [...loraShapes(targets, config.r).map(([n]) => n), ...saved];
  const missing = names.find((n) => !tensors.has(n));
  if (missing) throw new Error(`cannot save the adapter: it has no tensor '${missing}'`);
  const json: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: config.bias,
    fan_in_fan_out: targets.some((l) => l.fanInFanOut),
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: config.lora_alpha,
    lora_bias: false,
    lora_dropout: config.lora_dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: config.modules_to_save,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    revision: null,
    target_modules: savedTargets(c, config, targets),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: config.use_rslora,
  };
  const files: CheckpointFiles = new Map();
  files.set(ADAPTER_CONFIG_FILE, encoder.encode(JSON.stringify(json, null, 2) + '\n'));
  const named = names.map((n): [string, { shape: number[]; data: Float32Array }] => [peftName(n, c), tensors.get(n)!]);
  files.set(ADAPTER_WEIGHTS_FILE, writeSafetensors(named, { metadata: { format: 'pt' } }));
  return files;
}

/** adapter_config.json's LoraConfig, refusing what Hearth does not run (other PEFT methods, DoRA, per-layer ranks). */
function readAdapterConfig(bytes: Uint8Array): { config: LoraConfig; baseModel: string | null } {
  const where = ADAPTER_CONFIG_FILE;
  let json: JsonObject;
  try {
    const v = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SyntaxError('not a JSON object');
    json = v;
  } catch (e) {
    throw invalid(`${where} is not a JSON object (${(e as Error).message})`);
  }
  const get = (key: string) => (Object.hasOwn(json, key) ? json[key] : undefined);
  const peftType = get('peft_type');
  if (peftType !== 'LORA')
    throw new CheckpointError(
      'unsupported-model',
      `${where}: peft_type ${JSON.stringify(peftType)}; Hearth loads LoRA adapters (peft_type "LORA")`,
    );
  const task = get('task_type');
  if (task !== undefined && task !== null && task !== 'CAUSAL_LM')
    throw new CheckpointError(
      'unsupported-model',
      `${where}: task_type ${JSON.stringify(task)}; Hearth loads adapters of causal language models (CAUSAL_LM)`,
    );
  const refuse = (key: string, bad: (v: unknown) => boolean, what: string) => {
    if (bad(get(key)))
      throw new CheckpointError('unsupported-model', `${where}: ${key} ${JSON.stringify(get(key))}: ${what}`);
  };
  const nonEmpty = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length > 0;
  refuse('use_dora', (v) => v === true, 'Hearth does not run DoRA adapters');
  refuse('lora_bias', (v) => v === true, 'Hearth does not run adapters with a bias on lora_B');
  refuse('rank_pattern', nonEmpty, 'Hearth runs one rank for every layer');
  refuse('alpha_pattern', nonEmpty, 'Hearth runs one lora_alpha for every layer');
  refuse(
    'layers_to_transform',
    (v) => v !== undefined && v !== null,
    'Hearth adapts the target modules of every layer',
  );
  refuse('layer_replication', (v) => v !== undefined && v !== null, 'Hearth does not replicate layers');
  const number = (key: string, fallback?: number): number => {
    const v = get(key) ?? fallback;
    if (typeof v !== 'number') throw invalid(`${where}: ${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const strings = (key: string): string[] | null => {
    const v = get(key);
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
      throw invalid(`${where}: ${key} must be a list of module names, got ${JSON.stringify(v)}`);
    return v as string[];
  };
  const targets = get('target_modules');
  const config: LoraConfig = {
    r: number('r', 8),
    lora_alpha: number('lora_alpha', 8),
    lora_dropout: number('lora_dropout', 0),
    target_modules: typeof targets === 'string' ? targets : strings('target_modules'),
    bias: (get('bias') ?? 'none') as 'none',
    use_rslora: get('use_rslora') === true,
    modules_to_save: strings('modules_to_save'),
  };
  const base = get('base_model_name_or_path');
  return { config, baseModel: typeof base === 'string' ? base : null };
}

/**
 * Reads an adapter folder's files against the base model's config: the config's targets must exist in the base, and
 * adapter_model.safetensors must hold exactly their tensors with the base's shapes; the first that does not is named
 * with both shapes.
 */
export function adapterFromFiles(files: CheckpointFiles, c: ModelConfig): PeftAdapter {
  const configBytes = files.get(ADAPTER_CONFIG_FILE);
  if (!configBytes) throw new CheckpointError('missing-file', `no ${ADAPTER_CONFIG_FILE}: not a PEFT adapter folder`);
  const weightBytes = files.get(ADAPTER_WEIGHTS_FILE);
  if (!weightBytes)
    throw new CheckpointError(
      'missing-file',
      `no ${ADAPTER_WEIGHTS_FILE} beside ${ADAPTER_CONFIG_FILE} (Hearth reads safetensors only)`,
    );
  const { config, baseModel } = readAdapterConfig(configBytes);
  const family = familyOf(c);
  let targets: LinearLayer[];
  let saved: string[];
  try {
    targets = resolveTargets(family, c, config);
    saved = resolveModulesToSave(family, c, config, targets);
  } catch (e) {
    if (e instanceof LoraConfigError) throw invalid(`${ADAPTER_CONFIG_FILE}: ${e.message}`);
    throw e;
  }
  const baseShapes = modelParameterShapes(c);
  const expected = new Map<string, [string, number[]]>(); // PEFT name → [Hearth name, shape]
  for (const [name, shape] of loraShapes(targets, config.r)) expected.set(peftName(name, c), [name, shape]);
  for (const name of saved) expected.set(peftName(name, c), [name, baseShapes.get(name)!]);
  const { tensors } = readSafetensors(weightBytes, { fileName: ADAPTER_WEIGHTS_FILE });
  const out: NamedTensors = new Map();
  for (const [peft, t] of tensors) {
    const want = expected.get(peft);
    if (!want)
      throw invalid(
        `${ADAPTER_WEIGHTS_FILE}: tensor '${peft}' is not one of this adapter's on the ${family.label} base (target_modules, modules_to_save of ${ADAPTER_CONFIG_FILE})`,
      );
    if (t.shape.join(',') !== want[1].join(','))
      throw invalid(
        `${ADAPTER_WEIGHTS_FILE}: tensor '${peft}' has shape [${t.shape}], but the base model needs [${want[1]}]: the adapter was trained on a base of other sizes`,
      );
    out.set(want[0], t);
  }
  const missing = [...expected].find(([peft]) => !tensors.has(peft));
  if (missing)
    throw invalid(`${ADAPTER_WEIGHTS_FILE}: no tensor '${missing[0]}', which ${ADAPTER_CONFIG_FILE} implies`);
  return { config, baseModel, targets, tensors: out };
}

/** The base checkpoint with the adapter merged into its weights (PEFT's merge_and_unload), training state dropped. */
export function mergeAdapter(base: HearthCheckpoint, adapter: PeftAdapter): HearthCheckpoint {
  const weights = mergeLora(base.weights, adapter.tensors, adapter.targets, adapter.config);
  for (const [name, t] of adapter.tensors) if (!/\.lora_[AB]\.weight$/.test(name)) weights.set(name, t);
  return { ...base, weights, training: undefined };
}
