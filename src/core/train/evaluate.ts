// Evaluation as Hugging Face's Trainer.evaluate reports it, on its own: the trainer runs it on its schedule, and
// `hearth eval` runs it on a model and a dataset alone.
import type { CausalLM } from '../model/causal_lm.ts';
import { evalBatches } from '../data/batches.ts';
import type { BlockDataset } from '../data/dataset.ts';
import { countTargets } from '../util/targets.ts';
import type { TrainingArguments } from './args.ts';

export interface EvalMetrics {
  /** mean next-token loss over every target of every block */
  eval_loss: number;
  /** exp(eval_loss) */
  perplexity: number;
  /** the targets counted */
  eval_tokens: number;
}

/** eval_loss and perplexity of `model` over every block of `data`, per_device_eval_batch_size blocks at a time. */
export async function evaluate(
  model: CausalLM,
  data: BlockDataset | null,
  args: Pick<TrainingArguments, 'per_device_eval_batch_size'>,
): Promise<EvalMetrics> {
  if (!data || data.numBlocks === 0)
    throw new Error('no evaluation data (add an eval file or hold out a fraction of the blocks)');
  let total = 0;
  let count = 0;
  for await (const batch of evalBatches(data, args.per_device_eval_batch_size)) {
    // Each batch's mean loss, weighted by its targets: the mean over all of them.
    const n = countTargets(batch.targets);
    // packed rows (bfd) carry their position ids
    const loss = model.loss(batch.inputs, batch.targets, batch.batchSize, batch.blockSize, {
      positionIds: batch.positionIds,
    });
    total += (await loss.data())[0] * n;
    loss.dispose();
    count += n;
  }
  const evalLoss = total / Math.max(count, 1);
  return { eval_loss: evalLoss, perplexity: Math.exp(evalLoss), eval_tokens: count };
}
