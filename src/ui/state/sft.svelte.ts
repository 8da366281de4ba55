// The fine-tuning options the data panel sets for record files, under TRL's SFTConfig names, as typed and as the
// worker takes them.
import type { SftOptions } from '../../worker/protocol.ts';

export class SftSettings {
  /** dataset_text_field: the field (a CSV's column) plain-text records are read from */
  textField = $state('text');
  /** max_length as typed; empty: TRL's 1024, at most the model's positions */
  maxLengthText = $state('');
  packing = $state(false);
  assistantOnlyLoss = $state(false);
  /** completion_only_loss: 'auto' is TRL's default (true for prompt-completion records) */
  completionOnlyLoss = $state<'auto' | 'true' | 'false'>('auto');

  /** why max_length cannot be used, or null */
  maxLengthProblem = $derived.by(() => {
    const t = this.maxLengthText.trim();
    if (t === '') return null;
    const v = Number(t);
    return Number.isInteger(v) && v >= 2 ? null : 'max_length must be a whole number of at least 2';
  });

  /** the options for the worker; the last valid ones while max_length is mistyped */
  options = $derived.by((): SftOptions => {
    const t = this.maxLengthText.trim();
    return {
      dataset_text_field: this.textField.trim() || 'text',
      max_length: t === '' || this.maxLengthProblem ? null : Number(t),
      packing: this.packing,
      assistant_only_loss: this.assistantOnlyLoss,
      completion_only_loss: this.completionOnlyLoss === 'auto' ? null : this.completionOnlyLoss === 'true',
    };
  });
}
