// The model card a pushed model carries (README.md, as the Hub renders it): metadata the Hub indexes in YAML front
// matter, then what was trained, on what, with which arguments, to what loss.
import { familyOf, parameterCount, type ModelConfig } from '../model/families/index.ts';
import type { TrainingState } from '../checkpoint/training_state.ts';
import { trainerKeywords } from '../train/pytorch_script.ts';

export interface ModelCardInfo {
  config: ModelConfig;
  training?: TrainingState;
  /** the Hub id the model was fine-tuned from, when it was */
  baseModel?: string;
  /** the user's words about the data: "my notes, 2.1 MB of Markdown" */
  dataSummary?: string;
  /** the file name of the loss curve beside the card, when there is one */
  lossCurve?: string;
}

/** A string as a YAML scalar: JSON's double-quoted strings are YAML's. */
const yaml = (s: string) => JSON.stringify(s);
/** Text in a Markdown table cell. */
const cell = (v: unknown) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function lastOf(history: TrainingState['lossHistory'], metric: string): number | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (Number.isFinite(history[i][metric])) return history[i][metric];
  return undefined;
}

export function modelCard(info: ModelCardInfo): string {
  const family = familyOf(info.config);
  const params = parameterCount(info.config);
  const front = ['---', 'library_name: transformers', 'pipeline_tag: text-generation', 'tags:', '  - hearth'];
  if (info.baseModel) front.push(`base_model: ${yaml(info.baseModel)}`);
  front.push('---');
  const out = [front.join('\n'), ''];
  out.push(`# ${family.label} model trained with Hearth`, '');
  out.push(
    `A ${family.label} causal language model (model_type \`${info.config.model_type}\`, ${(params / 1e6).toFixed(2)} M parameters)` +
      (info.baseModel ? `, fine-tuned from [${info.baseModel}](https://huggingface.co/${info.baseModel})` : '') +
      ', trained in a browser tab or on the command line with Hearth. It loads with `AutoModelForCausalLM.from_pretrained`.',
    '',
  );
  out.push('## Training data', '', info.dataSummary?.trim() || 'Not described by the person who trained it.', '');
  const t = info.training;
  if (t) {
    out.push('## Training arguments', '', '| argument | value |', '| --- | --- |');
    for (const [name, value] of trainerKeywords(t.trainerArgs)) out.push(`| ${name} | ${cell(value)} |`);
    out.push('', '## Results', '');
    const loss = lastOf(t.lossHistory, 'loss');
    const evalLoss = t.evalLoss ?? lastOf(t.lossHistory, 'eval_loss');
    out.push(`- steps: ${t.step} (epoch ${Number(t.epoch.toFixed(2))})`);
    if (loss !== undefined) out.push(`- final training loss: ${loss.toFixed(4)}`);
    if (evalLoss !== undefined && evalLoss !== null)
      out.push(`- final eval loss: ${evalLoss.toFixed(4)} (perplexity ${Math.exp(evalLoss).toFixed(2)})`);
    if (info.lossCurve) out.push('', `![Training loss (orange) and eval loss (blue) by step](${info.lossCurve})`);
    out.push('');
  }
  return out.join('\n');
}
