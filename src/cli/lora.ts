// LoRA from the command line: `hearth train --lora_r R ...` trains a PEFT LoRA adapter on a frozen base and saves it
// as PEFT saves one; `hearth merge` folds an adapter folder into its base and writes the full model.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM } from '../core/model/causal_lm.ts';
import type { NamedTensors } from '../core/model/host_tensors.ts';
import { parameterCount, type ModelConfig } from '../core/model/families/index.ts';
import { DEFAULT_LORA_CONFIG, LoraConfigError, loraScale, type LoraConfig } from '../core/model/lora/config.ts';
import { attachLoraForTraining } from '../core/train/lora_training.ts';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  adapterFromFiles,
  adapterToFiles,
  mergeAdapter,
} from '../core/checkpoint/peft_adapter.ts';
import { checkpointToFiles, totalBytes, type CheckpointFiles } from '../core/checkpoint/hf_folder.ts';
import { writeCheckpointFolder } from '../core/checkpoint/node_folder.ts';
import { OPTIMIZER_FILE, STATE_FILE } from '../core/checkpoint/training_state.ts';
import { parseArgs, number, one, UsageError, type FlagSpec, type Parsed } from './args.ts';
import { loadCheckpoint } from './checkpoint_source.ts';

/** train's LoRA flags, PEFT's LoraConfig fields with a lora_ prefix where theirs has none. */
export const LORA_FLAGS: Record<string, FlagSpec> = {
  lora_r: {},
  lora_alpha: {},
  lora_dropout: {},
  lora_target_modules: {},
};

export const LORA_HELP = `  --lora_r R           train a LoRA adapter of rank R (PEFT's) on the frozen model instead of the model itself; the
                       adapter is saved as PEFT saves one (adapter_config.json, adapter_model.safetensors) in
                       checkpoint-STEP/ (with the training state: --resume DIR --model BASE continues exactly; the
                       base defaults to the adapter's base_model_name_or_path) and final/ (hearth merge folds it in)
  --lora_alpha A       the adapter's scale is A/R (default 8, as PEFT)
  --lora_dropout P     dropout on the adapter's input in training steps (default 0)
  --lora_target_modules M,M...  module names to adapt (q_proj,v_proj; c_attn; all-linear for every linear layer but
                       the head); default PEFT's for the model type (GPT-2: c_attn, Llama: q_proj,v_proj,
                       GPT-NeoX: query_key_value, GPT-Neo: q_proj,v_proj)`;

export const MERGE_HELP = `usage: hearth merge --base DIR|ZIP|hf:ID --adapter DIR --out DIR

Folds a PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors; Hearth's or PEFT's) into its base
model, W + (lora_alpha/r)·B·A as PEFT's merge_and_unload, and writes the full model as a Hugging Face folder in float32
with the base's tokenizer. The adapter must have been trained on a base of the same sizes.`;

/** The LoRA config the train flags ask for; null without --lora_r (the other LoRA flags then are refused). */
export function loraConfigFromFlags(p: Parsed): LoraConfig | null {
  const r = number(p, 'lora_r');
  if (r === undefined) {
    const stray = Object.keys(LORA_FLAGS).find((f) => one(p, f) !== undefined);
    if (stray) throw new UsageError(`--${stray} is for LoRA training: give --lora_r too`);
    return null;
  }
  const targets = one(p, 'lora_target_modules');
  const list = targets?.split(',').map((s) => s.trim());
  if (list?.some((s) => s === ''))
    throw new UsageError(`--lora_target_modules takes names separated by commas, got '${targets}'`);
  return {
    ...DEFAULT_LORA_CONFIG,
    r,
    lora_alpha: number(p, 'lora_alpha') ?? DEFAULT_LORA_CONFIG.lora_alpha,
    lora_dropout: number(p, 'lora_dropout') ?? DEFAULT_LORA_CONFIG.lora_dropout,
    target_modules:
      list === undefined ? null : list.length === 1 && list[0].toLowerCase() === 'all-linear' ? 'all-linear' : list,
  };
}

/**
 * A LoRA run's checkpoint folder (written by hearth train --lora_r): the adapter, its training state and the names
 * of the base it was trained on; null when `dir` holds no adapter_config.json (a full model's checkpoint).
 */
export async function readLoraCheckpoint(
  dir: string,
): Promise<{ files: CheckpointFiles; baseModel: string | null } | null> {
  if (!existsSync(join(dir, ADAPTER_CONFIG_FILE))) return null;
  const files: CheckpointFiles = new Map();
  for (const name of [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, STATE_FILE, OPTIMIZER_FILE]) {
    const path = join(dir, name);
    if (existsSync(path)) files.set(name, new Uint8Array(await readFile(path)));
  }
  let baseModel: string | null = null;
  try {
    const json = JSON.parse(new TextDecoder().decode(files.get(ADAPTER_CONFIG_FILE)));
    if (typeof json.base_model_name_or_path === 'string') baseModel = json.base_model_name_or_path;
  } catch {
    // adapterFromFiles names what is wrong with it
  }
  return { files, baseModel };
}

/**
 * Attaches a new adapter (A drawn from `seed`) as training holds it (`baseWeights`: attachLoraForTraining's); a config
 * that does not fit the model is a usage error.
 */
export function attachLora(model: CausalLM, config: LoraConfig, seed: number, baseWeights?: NamedTensors): string {
  try {
    attachLoraForTraining(model, config, { seed }, baseWeights);
  } catch (e) {
    if (e instanceof LoraConfigError) throw new UsageError(e.message);
    throw e;
  }
  const lora = model.lora!;
  let trained = 0;
  for (const v of model.trainable.values()) trained += v.size;
  const total = parameterCount(model.dims);
  const names = [...new Set(lora.targets.map((l) => l.module.split('.').pop()))].join(', ');
  return (
    `LoRA: r ${config.r}, lora_alpha ${config.lora_alpha} (scale ${loraScale(config)}), lora_dropout ${config.lora_dropout}, ` +
    `on ${lora.targets.length} layers (${names}); ${trained} trainable parameters, ${((100 * trained) / total).toFixed(3)}% of the base's ${total}; ` +
    `the base's ${model.halfBaseWeights} linear weights held in f16`
  );
}

/** The adapter's folder files: PEFT's two, and the tokenizer beside them as PEFT's Trainer saves it. */
export async function adapterFolderFiles(
  model: CausalLM,
  config: ModelConfig,
  baseModel: string,
  tokenizerJson: string,
): Promise<CheckpointFiles> {
  const files = adapterToFiles(config, model.lora!.config, await model.adapterArrays(), baseModel);
  files.set('tokenizer.json', new TextEncoder().encode(tokenizerJson));
  return files;
}

export async function mergeCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<void> {
  const p = parseArgs(argv, { base: {}, adapter: {}, out: {}, help: { boolean: true } }, false);
  if (p.switches.has('help')) {
    out(MERGE_HELP);
    return;
  }
  const baseSpec = one(p, 'base');
  const adapterDir = one(p, 'adapter');
  const outDir = one(p, 'out');
  if (!baseSpec || !adapterDir || !outDir)
    throw new UsageError('--base, --adapter and --out are required (see hearth merge --help)');
  if (existsSync(outDir)) throw new UsageError(`--out ${outDir} already exists; give a new folder`);
  const files: CheckpointFiles = new Map();
  for (const name of [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]) {
    const path = join(adapterDir, name);
    if (!existsSync(path)) throw new UsageError(`--adapter ${adapterDir} has no ${name}: not a PEFT adapter folder`);
    files.set(name, new Uint8Array(await readFile(path)));
  }
  const base = await loadCheckpoint(baseSpec);
  const adapter = adapterFromFiles(files, base.config);
  if (adapter.baseModel && adapter.baseModel !== baseSpec)
    err(`note: the adapter says it was trained on ${adapter.baseModel}; merging into ${baseSpec}`);
  const merged = checkpointToFiles(mergeAdapter(base, adapter));
  await writeCheckpointFolder(outDir, merged);
  out(
    `wrote ${outDir}: the base with the LoRA adapter (r ${adapter.config.r}, ${adapter.targets.length} layers) merged in, ${(totalBytes(merged) / 2 ** 20).toFixed(1)} MiB`,
  );
}
