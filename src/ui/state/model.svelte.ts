// The model the run will train: a preset for now (imports, Hub downloads and resumed checkpoints join here).
import { PRESETS, presetDims, type GPTDims } from '../../core/model/config.ts';

/** GPT-2's tokenizer, the default until the tokenizer picker sets another vocabulary. */
export const GPT2_VOCAB_SIZE = 50257;

export class ModelChoice {
  presetId = $state('tiny');
  /** rows of the embedding for presets that take their vocabulary from the tokenizer */
  vocabSize = $state(GPT2_VOCAB_SIZE);
  vocabSource = $state('GPT-2 tokenizer');

  preset = $derived(PRESETS.find((p) => p.id === this.presetId) ?? PRESETS[0]);
  dims: GPTDims = $derived(presetDims(this.preset.id, this.vocabSize));
}
