// Whether a run's buffers can exist on the adapter at all: a pure check (no tfjs), so the page can show the
// refusal while the arguments are typed and the trainer makes the same check before it starts.
import type { ModelDims } from '../model/families/index.ts';
import { estimateTrainingMemory, type LoraMemoryTerms, type MemoryEstimate } from '../model/memory.ts';
import type { TrainingArguments } from './args.ts';

export interface AdapterLimits {
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
}

/** The training memory of a run with these arguments, as the trainer will run it (its AdamW, fp16, accumulation). */
export function estimateRunMemory(dims: ModelDims, args: TrainingArguments, lora?: LoraMemoryTerms): MemoryEstimate {
  return estimateTrainingMemory(dims, args.per_device_train_batch_size, args.block_size, {
    checkpoint: args.gradient_checkpointing,
    fp16: args.fp16,
    accumulation: args.gradient_accumulation_steps,
    lora,
  });
}

/** Refuses a run whose largest buffer exceeds what the adapter can bind, with the numbers. */
export function checkFits(model: { dims: ModelDims }, args: TrainingArguments, limits?: AdapterLimits): void {
  if (!limits) return;
  const d = model.dims;
  const B = Math.max(args.per_device_train_batch_size, args.per_device_eval_batch_size);
  const logitsBytes = 4 * B * args.block_size * d.vocab_size;
  const bind = Math.min(limits.maxStorageBufferBindingSize ?? Infinity, limits.maxBufferSize ?? Infinity);
  if (logitsBytes > bind) {
    const mem = estimateRunMemory(d, args);
    throw new Error(
      `this run does not fit the GPU: the logits of one batch (${B} × ${args.block_size} × ${d.vocab_size} floats = ${(logitsBytes / 2 ** 20).toFixed(0)} MiB) ` +
        `exceed the largest buffer the adapter allows (${(bind / 2 ** 20).toFixed(0)} MiB); the whole step needs about ${(mem.total / 2 ** 30).toFixed(2)} GiB. ` +
        `Lower per_device_train_batch_size or block_size (use gradient_accumulation_steps to keep the effective batch).`,
    );
  }
}
