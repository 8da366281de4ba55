// The LoRA switch and its fields in the training settings: off, the run trains the whole model; on, a PEFT LoRA
// adapter on the frozen model.
import type { ModelDims } from '../../core/model/families/index.ts';
import { defaultLoraText, parseLora, type LoraField, type LoraText, type ParsedLora } from '../lora_fields.ts';

export class LoraSettings {
  enabled = $state(false);
  text = $state<LoraText>(defaultLoraText());

  readonly #dims: () => ModelDims | null;

  constructor(dims: () => ModelDims | null) {
    this.#dims = dims;
  }

  parsed: ParsedLora = $derived.by(() => parseLora(this.text, this.#dims()));

  set(name: LoraField, value: string): void {
    this.text[name] = value;
  }

  reset(): void {
    this.text = defaultLoraText();
  }
}
