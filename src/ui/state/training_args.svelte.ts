// The training-arguments form: the text in each field, read and checked on every keystroke.
import { DEFAULT_TRAINING_ARGUMENTS } from '../../core/train/args.ts';
import type { TrainingArguments } from '../../core/train/args.ts';
import {
  ALL_FIELDS,
  defaultText,
  parseForm,
  valueToText,
  type ArgName,
  type FormText,
  type ParsedForm,
} from '../training_fields.ts';

export class TrainingArgsForm {
  text = $state<FormText>(defaultText());
  /** Until the user types a block_size, it follows the model: the default, or n_positions when smaller. */
  blockSizeFollowsModel = $state(true);

  readonly #nPositions: () => number;

  constructor(nPositions: () => number) {
    this.#nPositions = nPositions;
  }

  get nPositions(): number {
    return this.#nPositions();
  }

  /** What the block_size field shows. */
  blockSizeText = $derived.by(() =>
    this.blockSizeFollowsModel
      ? String(Math.min(DEFAULT_TRAINING_ARGUMENTS.block_size, this.#nPositions()))
      : this.text.block_size,
  );

  parsed: ParsedForm = $derived.by(() =>
    parseForm({ ...this.text, block_size: this.blockSizeText }, this.#nPositions()),
  );

  valid = $derived(this.parsed.problems.size === 0);

  set(name: ArgName, value: string): void {
    if (name === 'block_size') this.blockSizeFollowsModel = false;
    this.text[name] = value;
  }

  /** Fills every field from a run's arguments (a resumed checkpoint's, so the run continues as it began). */
  load(args: TrainingArguments): void {
    const text = defaultText();
    for (const { name } of ALL_FIELDS) text[name] = valueToText(args[name]);
    this.text = text;
    this.blockSizeFollowsModel = false;
  }

  reset(): void {
    this.text = defaultText();
    this.blockSizeFollowsModel = true;
  }
}
