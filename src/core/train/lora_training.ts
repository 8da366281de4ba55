// How Hearth trains a LoRA adapter, decided here for the CLI, the page's worker and the memory estimates both show:
// the frozen base's linear weights are held in f16 on the GPU (CausalLM.attachLora's halfBase), half their memory,
// as PEFT trains an adapter on an fp16 base. Their exact float32 values stay on the CPU, so a saved, exported or
// merged base is never rounded.
import type { CausalLM } from '../model/causal_lm.ts';
import { familyOf, type ModelDims } from '../model/families/index.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import { loraMemoryTerms, type LoraConfig } from '../model/lora/config.ts';
import type { LoraMemoryTerms } from '../model/memory.ts';

const HALF_BASE = true;

/**
 * Attaches the adapter to train: a new one (A drawn from `seed`), or the one `values` holds, continued. `baseWeights`:
 * the host arrays the model was just made from (RunSetup's), kept as the base's exact values instead of a copy read
 * back from the GPU.
 */
export function attachLoraForTraining(
  model: CausalLM,
  config: LoraConfig,
  from: { seed: number } | { values: NamedTensors },
  baseWeights?: NamedTensors,
): void {
  model.attachLora(config, { ...from, halfBase: HALF_BASE, hostBase: baseWeights });
}

/**
 * The adapter's terms in the training memory estimate, the base held as training holds it; a config that does not
 * fit the model throws LoraConfigError, naming what is wrong.
 */
export function loraTrainingTerms(dims: ModelDims, config: LoraConfig): LoraMemoryTerms {
  return loraMemoryTerms(familyOf(dims), dims, config, { halfBase: HALF_BASE });
}
