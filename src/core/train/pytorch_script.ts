// "Continue on a cluster": the files that turn an exported Hugging Face folder into a PyTorch training run. train.py
// is written from the run's own TrainingArguments and prepares the data as Hearth does (each file's tokens, files
// joined by the end-of-text token, cut into whole blocks of block_size; without evaluation files the last share of
// the blocks held out), then runs transformers' Trainer: on one GPU, under `torchrun` (DDP), or with DeepSpeed.
import { DEFAULT_TRAINING_ARGUMENTS, type TrainingArguments } from './args.ts';
import { familyOf } from '../model/families/index.ts';
import type { CheckpointFiles } from '../checkpoint/hf_folder.ts';
import { STATE_FILE } from '../checkpoint/training_state.ts';

export interface PytorchScriptOptions {
  /** the run's arguments; missing ones take Hugging Face's defaults */
  args: Partial<TrainingArguments>;
  /** the share of blocks held out for evaluation when no evaluation files are given (the run's) */
  evalSplitFraction?: number;
  /** what the folder holds, for the README: "GPT-2 (6.8 M parameters)" */
  modelLabel?: string;
}

/** The transformers release train.py is written for: its TrainingArguments (5.x: warmup_steps < 1 is a ratio). */
export const PYTORCH_REQUIREMENTS = ['torch>=2.4', 'transformers>=5.0,<6', 'accelerate>=1.0', 'deepspeed>=0.16'];

/** A value as a Python literal. */
function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} into train.py`);
    return String(v); // 5e-5 → 0.00005, 1e-8 → 1e-8: both Python
  }
  if (typeof v === 'string') return JSON.stringify(v); // JSON string escapes are valid Python escapes
  throw new Error(`cannot write ${typeof v} into train.py`);
}

/**
 * The TrainingArguments keyword arguments train.py passes, by Hugging Face's names, from a Hearth run. Hearth's
 * warmup_ratio becomes transformers 5's fractional warmup_steps; block_size belongs to the data, not to them.
 */
export function trainerKeywords(args: Partial<TrainingArguments>): [string, unknown][] {
  const a: TrainingArguments = { ...DEFAULT_TRAINING_ARGUMENTS, ...args };
  const warmup = a.warmup_steps > 0 ? a.warmup_steps : a.warmup_ratio;
  const out: [string, unknown][] = [
    ['num_train_epochs', a.num_train_epochs],
    ['max_steps', a.max_steps],
    ['per_device_train_batch_size', a.per_device_train_batch_size],
    ['per_device_eval_batch_size', a.per_device_eval_batch_size],
    ['gradient_accumulation_steps', a.gradient_accumulation_steps],
    ['learning_rate', a.learning_rate],
    ['weight_decay', a.weight_decay],
    ['adam_beta1', a.adam_beta1],
    ['adam_beta2', a.adam_beta2],
    ['adam_epsilon', a.adam_epsilon],
    ['max_grad_norm', a.max_grad_norm],
    ['warmup_steps', warmup],
    ['lr_scheduler_type', a.lr_scheduler_type],
    ['logging_steps', a.logging_steps],
    ['eval_strategy', a.eval_strategy],
    ['eval_steps', a.eval_steps],
    ['save_strategy', a.save_strategy],
    ['save_steps', a.save_steps],
    ['save_total_limit', a.save_total_limit],
    ['load_best_model_at_end', a.load_best_model_at_end],
    ['seed', a.seed],
    ['gradient_checkpointing', a.gradient_checkpointing],
    ['fp16', a.fp16],
  ];
  if (a.load_best_model_at_end) out.push(['metric_for_best_model', 'loss']);
  return out;
}

export function trainScript(options: PytorchScriptOptions): string {
  const a: TrainingArguments = { ...DEFAULT_TRAINING_ARGUMENTS, ...options.args };
  const keywords = trainerKeywords(options.args)
    .map(([k, v]) => `    ${k}=${py(v)},`)
    .join('\n');
  const fraction = options.evalSplitFraction ?? 0.1;
  return `#!/usr/bin/env python3
"""Continue training this model with Hugging Face's Trainer, where Hearth left off.

Written by Hearth from the run's own TrainingArguments. The data is prepared as Hearth prepares it: each file's
tokens, files joined by the end-of-text token, cut into whole blocks of BLOCK_SIZE tokens; without --eval files the
last EVAL_SPLIT_FRACTION of the blocks is held out for evaluation.

  python train.py --data a.txt b.txt                                  # one GPU (or the CPU)
  torchrun --nproc_per_node 8 train.py --data a.txt b.txt              # data parallel (DDP) on 8 GPUs
  deepspeed --num_gpus 8 train.py --data a.txt --deepspeed ds_config.json   # DeepSpeed ZeRO stage 2
"""
import argparse
import os

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
    default_data_collator,
)

MODEL_DIR = os.path.dirname(os.path.abspath(__file__))
BLOCK_SIZE = ${py(a.block_size)}
EVAL_SPLIT_FRACTION = ${py(fraction)}


class Blocks(torch.utils.data.Dataset):
    """Whole blocks of token ids; the labels are the inputs (the model shifts them), the end-of-text tokens included."""

    def __init__(self, ids, first, count):
        self.ids = ids
        self.first = first
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        start = (self.first + i) * BLOCK_SIZE
        block = torch.tensor(self.ids[start : start + BLOCK_SIZE], dtype=torch.long)
        return {"input_ids": block, "labels": block.clone()}


def joined_tokens(tokenizer, paths):
    """Every file's tokens, the files joined by the end-of-text token."""
    ids = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            tokens = tokenizer(f.read(), add_special_tokens=False)["input_ids"]
        if not tokens:
            continue
        if ids:
            ids.append(tokenizer.eos_token_id)
        ids.extend(tokens)
    return ids


def held_out(n, fraction):
    """Blocks held out of n for evaluation: at least one when asked for any, but never the only one."""
    return min(n - 1, max(1, round(n * fraction))) if fraction > 0 and n >= 2 else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True, help="training text files (UTF-8)")
    parser.add_argument("--eval", nargs="*", default=[], help="evaluation text files")
    parser.add_argument("--output_dir", default="output", help="where checkpoints go")
    parser.add_argument("--deepspeed", default=None, help="a DeepSpeed config, e.g. ds_config.json")
    parser.add_argument("--local_rank", type=int, default=-1, help=argparse.SUPPRESS)  # set by the deepspeed launcher
    cli = parser.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR)

    train_ids = joined_tokens(tokenizer, cli.data)
    n = len(train_ids) // BLOCK_SIZE
    if n == 0:
        raise SystemExit(f"the training files hold {len(train_ids)} tokens, less than one block of {BLOCK_SIZE}")
    if cli.eval:
        eval_ids = joined_tokens(tokenizer, cli.eval)
        train = Blocks(train_ids, 0, n)
        m = len(eval_ids) // BLOCK_SIZE
        evaluation = Blocks(eval_ids, 0, m) if m > 0 else None
    else:
        held = held_out(n, EVAL_SPLIT_FRACTION)
        train = Blocks(train_ids, 0, n - held)
        evaluation = Blocks(train_ids, n - held, held) if held > 0 else None

    args = TrainingArguments(
        output_dir=cli.output_dir,
${keywords}
        deepspeed=cli.deepspeed,
    )
    if evaluation is None and args.eval_strategy != "no":
        args.eval_strategy = "no"
        args.load_best_model_at_end = False
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=default_data_collator,  # whole blocks: nothing to pad, every token a target as in Hearth
    )
    trainer.train()
    if evaluation is not None:
        metrics = trainer.evaluate()
        print({"eval_loss": metrics["eval_loss"]})
    trainer.save_model(cli.output_dir)
    tokenizer.save_pretrained(cli.output_dir)


if __name__ == "__main__":
    main()
`;
}

/** DeepSpeed ZeRO stage 2; "auto" lets the Trainer fill in what TrainingArguments already says. */
export function deepspeedConfig(args: Partial<TrainingArguments>): string {
  const a: TrainingArguments = { ...DEFAULT_TRAINING_ARGUMENTS, ...args };
  const config = {
    fp16: { enabled: a.fp16 ? 'auto' : false },
    zero_optimization: { stage: 2, overlap_comm: true, contiguous_gradients: true },
    gradient_accumulation_steps: 'auto',
    gradient_clipping: 'auto',
    train_batch_size: 'auto',
    train_micro_batch_size_per_gpu: 'auto',
  };
  return JSON.stringify(config, null, 2) + '\n';
}

/** The README section that says how to go on, with both command lines. */
export function pytorchReadmeSection(options: PytorchScriptOptions): string {
  const what = options.modelLabel ? ` (${options.modelLabel})` : '';
  return `## Continue training in PyTorch

This folder is a Hugging Face model${what}: \`AutoModelForCausalLM.from_pretrained\` and
\`AutoTokenizer.from_pretrained\` load it. \`train.py\` continues its training with the same TrainingArguments
as the run in Hearth, on your own text files:

\`\`\`sh
pip install -r requirements.txt
torchrun --nproc_per_node 8 train.py --data my_text.txt                              # DDP on 8 GPUs
deepspeed --num_gpus 8 train.py --data my_text.txt --deepspeed ds_config.json     # DeepSpeed ZeRO-2
\`\`\`

\`python train.py --data my_text.txt\` runs on one GPU. Checkpoints go to \`output/\` (\`--output_dir\`).
`;
}

/** train.py, requirements.txt, ds_config.json and a README.md for a Hugging Face folder. */
function pytorchFiles(options: PytorchScriptOptions): Map<string, string> {
  return new Map([
    ['train.py', trainScript(options)],
    ['requirements.txt', PYTORCH_REQUIREMENTS.join('\n') + '\n'],
    ['ds_config.json', deepspeedConfig(options.args)],
    ['README.md', `# ${options.modelLabel ?? 'A model trained with Hearth'}\n\n${pytorchReadmeSection(options)}`],
  ]);
}

function jsonOf(files: CheckpointFiles, name: string): Record<string, unknown> | null {
  const bytes = files.get(name);
  if (!bytes) return null;
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The checkpoint's files with train.py and its companions beside them. The arguments are the run's (given, or as
 * hearth_state.json recorded them; Hugging Face's defaults for a model that was never trained here). A README.md
 * already in the folder keeps its text, the section appended.
 */
export function withPytorchFiles(files: CheckpointFiles, options: Partial<PytorchScriptOptions> = {}): CheckpointFiles {
  const state = jsonOf(files, STATE_FILE);
  const recorded = (state?.trainer_args ?? {}) as Partial<TrainingArguments>;
  const config = jsonOf(files, 'config.json');
  let modelLabel = options.modelLabel;
  if (modelLabel === undefined && config) {
    try {
      modelLabel = familyOf(config).label;
    } catch {
      modelLabel = undefined;
    }
  }
  const full: PytorchScriptOptions = { ...options, args: options.args ?? recorded, modelLabel };
  const out: CheckpointFiles = new Map(files);
  const encoder = new TextEncoder();
  for (const [name, text] of pytorchFiles(full)) {
    const before = name === 'README.md' ? files.get(name) : undefined;
    const joined = before ? `${new TextDecoder().decode(before).trimEnd()}\n\n${pytorchReadmeSection(full)}` : text;
    out.set(name, encoder.encode(joined));
  }
  return out;
}
