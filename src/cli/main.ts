// `hearth`: train, evaluate and generate from the command line, in Node on Dawn (a real GPU, or SwiftShader),
// over the same core as the page. Checkpoints are Hugging Face folders on disk.
import { rename, rm, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { initTf, tf } from '../core/gpu/tf.ts';
import { describeGpu } from '../core/gpu/device.ts';
import { DEFAULT_DROPOUT } from '../core/model/families/gpt2_config.ts';
import { describeDims, familyOf, parameterCount, sizesOf } from '../core/model/families/index.ts';
import { PRESETS } from '../core/model/presets.ts';
import { estimateRunMemory } from '../core/train/fits.ts';
import {
  checkpointTokenizer,
  NoTrainingStateError,
  runArguments,
  setUpRun,
  type RunSetup,
} from '../core/train/run_setup.ts';
import { evaluate } from '../core/train/evaluate.ts';
import { CausalLM } from '../core/model/causal_lm.ts';
import { describeTokenizer, loadGpt2Tokenizer, type Tokenizer } from '../core/tokenizer/index.ts';
import {
  chatFormatterOf,
  chatGenerationPrompt,
  checkEvalFraction,
  DEFAULT_CHAT_TEMPLATE,
  DEFAULT_SFT_CONFIG,
  fileFormatOf,
  isRecordFormat,
  loadSftDataset,
  loadTextDataset,
  trainTokenizerOnSources,
  withChatTemplate,
  type SftConfig,
  type TextSource,
} from '../core/data/index.ts';
import { folderTokenCache, sourceFromPath } from '../core/data/node.ts';
import { totalBytes } from '../core/checkpoint/hf_folder.ts';
import { safeFolderName } from '../core/checkpoint/archive.ts';
import { TORCH_DTYPES } from '../core/checkpoint/safetensors.ts';
import { DEFAULT_MAX_SHARD_BYTES, parseShardSize } from '../core/checkpoint/shards.ts';
import { zipFolder } from '../core/checkpoint/zip.ts';
import {
  recoverInterruptedWrites,
  saveCheckpointFiles,
  saveCheckpointFolder,
  writeCheckpointFolder,
} from '../core/checkpoint/node_folder.ts';
import { checkpointToFiles } from '../core/checkpoint/hf_folder.ts';
import { withPytorchFiles } from '../core/train/pytorch_script.ts';
import { DEFAULT_TRAINING_ARGUMENTS } from '../core/train/args.ts';
import { Trainer, type LogEntry, type EvalResult } from '../core/train/trainer.ts';
import { snapshotToCheckpoint } from '../core/train/checkpointing.ts';
import { loraSnapshotToFiles } from '../core/train/lora_checkpoint.ts';
import { generate } from '../core/generate/index.ts';
import { parseArgs, one, number, boolean, UsageError, DTYPE_NAMES, type FlagSpec, type Parsed } from './args.ts';
import { pushCommand, PUSH_HELP } from './push.ts';
import { loadCheckpoint } from './checkpoint_source.ts';
import { exportGguf } from './export_gguf.ts';
import { attachLoraForTraining, loraTrainingTerms } from '../core/train/lora_training.ts';
import {
  adapterFolderFiles,
  attachLora,
  LORA_FLAGS,
  LORA_HELP,
  loraConfigFromFlags,
  mergeCommand,
  readLoraCheckpoint,
} from './lora.ts';
import { loraResumeFromFiles } from '../core/train/lora_checkpoint.ts';
import type { PeftAdapter } from '../core/checkpoint/peft_adapter.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');
const tty = process.stdout.isTTY === true;

const HELP = {
  main: `hearth — train GPT-2 and Llama-family models on your GPU (WebGPU through Dawn)

usage: hearth <command> [flags]     (hearth <command> --help for each)

commands:
  train      train a new model or fine-tune one on text files
  eval       eval_loss and perplexity of a model on text files
  generate   sample text from a model
  export     write a model as a Hugging Face folder or zip (float32, bfloat16 or float16, sharded above a size), or
             as one GGUF file for llama.cpp, Ollama and wllama (f32, f16 or q8_0)
  push       upload a model to the Hugging Face Hub with a model card and its loss curve
  merge      fold a LoRA adapter (PEFT's format) into its base model and write the full model`,
  train: `usage: hearth train --data FILE... [--eval FILE...] [--model PRESET|DIR|ZIP|hf:ID] [--tokenizer gpt2|bpe:N|char]
                   [--dropout P] [--out DIR] [--resume DIR] [--<training argument> VALUE]...
                   [--lora_r R [--lora_alpha A] [--lora_dropout P] [--lora_target_modules M,M...]]

  --data FILE...       training text files (UTF-8); regular files, since they are read more than once (a pipe
                       such as <(cat a.txt) is refused: save it to a file)
  --eval FILE...       evaluation files; without them eval_split_fraction of the blocks is held out
  --eval_split_fraction F  share held out when there are no eval files, from 0 (none) up to, not including, 1 (default 0.1)
  Record files in --data (.jsonl, .json, .csv, .tsv, .parquet: text, prompt/completion or messages records) are
  fine-tuning examples as TRL's SFTTrainer makes them, with SFTConfig's flags: --dataset_text_field NAME,
  --max_length N (default 1024, at most the model's positions), --packing true [--packing_strategy bfd|bfd_split|wrapped]
  (TRL's default bfd: whole examples packed into rows, each at its own positions and attending within itself),
  --completion_only_loss true|false, --assistant_only_loss true|false. A new model whose tokenizer has no chat
  template gets one (ChatML's turns, each closed by end-of-text), kept in its checkpoints.
  --model M            a preset for a new model (${PRESETS.map((p) => p.id).join(', ')}; default toy), a Hugging Face
                       GPT-2, Llama, Mistral or Qwen2 folder or zip to fine-tune, or hf:ID to download one from the Hub
                       (HF_ENDPOINT, HF_TOKEN; cached in huggingface_hub's cache, HF_HUB_CACHE or HF_HOME)
  --tokenizer T        for a new model: gpt2 (default), bpe:N (train a byte-level BPE of N tokens on --data), char
  --dropout P          for a new model: its embd_pdrop, attn_pdrop and resid_pdrop (default ${DEFAULT_DROPOUT}, as Hugging Face's
                       GPT2Config; a GPT-Neo's embed_, attention_ and resid_dropout), applied in training steps only; a
                       checkpoint keeps the rates in its config.json
  --out DIR            where checkpoints go (default hearth-output): DIR/checkpoint-STEP/ every save_steps, and the
                       final model in DIR/final/, each a Hugging Face folder plus Hearth's training state (with
                       --load_best_model_at_end true, final/ is the best checkpoint's weights alone)
  --resume DIR         continue exactly from a checkpoint folder written by hearth train
${LORA_HELP}
  --<arg> VALUE        any Hugging Face TrainingArguments field: ${Object.keys(DEFAULT_TRAINING_ARGUMENTS).join(', ')}

Prints one line per logged step (a progress bar on a terminal).`,
  eval: `usage: hearth eval --model DIR|ZIP|hf:ID --data FILE... [--block_size N] [--per_device_eval_batch_size N] [--json]

Prints eval_loss and perplexity (mean next-token loss over every block of block_size tokens).`,
  generate: `usage: hearth generate --model DIR|ZIP|hf:ID --prompt TEXT [--max-new-tokens N] [--max-length N] [--greedy]
                      [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R]
                      [--num-return-sequences N] [--seed S] [--no-cache] [--no-repeat-ngram-size N]
                      [--num-beams N [--length-penalty L] [--early-stopping true|false|never]] [--chat]

Samples by default (do_sample); --greedy takes the most likely token each step; --num-beams N > 1 runs beam search
(no sampling) and prints each returned sequence with its score. Tokens stream to stdout as they come when one
sequence is asked for. --chat: the prompt is a user message, rendered by the tokenizer's chat template with
add_generation_prompt; the reply (printed alone) stops at the template's end-of-turn token.`,
  push: PUSH_HELP,
  export: `usage: hearth export --model DIR|ZIP|hf:ID --out DIR|FILE.zip [--dtype float32|bfloat16|float16]
                    [--max_shard_size SIZE]

Writes the model as a Hugging Face folder (or a zip of one) that AutoModelForCausalLM.from_pretrained loads:
config.json (its torch_dtype naming the dtype), generation_config.json, the tokenizer files and the weights, in
model.safetensors or, above --max_shard_size, in shards model-00001-of-0000N.safetensors that
model.safetensors.index.json lists, as save_pretrained writes them. Training state is left behind.

  --dtype D            float32 (default; every bit kept), bfloat16 or float16 (each value rounded to the nearest,
                       ties to even); bf16, f16, fp16, f32 and fp32 also do
  --max_shard_size S   the most weight bytes in one file, as transformers spells it: 2GB (default), 500MB, 1GiB, or
                       bytes. 2GB rather than transformers' 5GB: a shard must fit one buffer in every browser

       hearth export --model DIR|ZIP|hf:ID --out FILE.gguf [--format gguf] [--dtype f32|f16|q8_0] [--name NAME]

Writes the model as one GGUF file that llama.cpp, Ollama and wllama run (model_type gpt2 as llama.cpp's gpt2
architecture, llama and mistral as its llama, qwen2 as its qwen2; the tokenizer and chat template included), as
llama.cpp's converter writes it: --dtype f32 (default; the weights exactly), f16, or q8_0 (8-bit blocks, about a
quarter of f32); norms, biases and position embeddings stay f32. --name sets general.name.`,
};

/** `--out` must be a folder, or a path where one can be made: a file there (or above it) is named at once. */
function checkOutFolder(dir: string): void {
  const wanted = resolve(dir);
  let at = wanted;
  while (!existsSync(at)) {
    const up = dirname(at);
    if (up === at) return;
    at = up;
  }
  if (statSync(at).isDirectory()) return;
  throw new UsageError(
    at === wanted
      ? `--out ${dir} is a file, not a folder (checkpoints are written as folders inside it)`
      : `--out ${dir} cannot be made: ${at} is a file, not a folder`,
  );
}

async function sources(paths: string[]): Promise<TextSource[]> {
  const list: TextSource[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new UsageError(`no such file: ${p}`);
    list.push(
      await sourceFromPath(p).catch((e: Error) => {
        throw new UsageError(e.message);
      }),
    );
  }
  return list;
}

function bar(done: number, total: number, width = 24): string {
  const n = Math.round((done / Math.max(total, 1)) * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

const fmtTime = (s: number) =>
  s < 90 ? `${s.toFixed(0)}s` : s < 5400 ? `${(s / 60).toFixed(1)}m` : `${(s / 3600).toFixed(1)}h`;

/** A new model's tokenizer: GPT-2's, or one trained on the training files (bpe:N, char). */
async function newTokenizer(spec: string, trainSources: TextSource[]): Promise<Tokenizer> {
  if (spec === 'gpt2') return loadGpt2Tokenizer();
  if (spec !== 'char' && !/^bpe:\d+$/.test(spec))
    throw new UsageError(`--tokenizer takes gpt2, bpe:N or char, got '${spec}'`);
  const kind = spec === 'char' ? 'char' : 'bpe';
  err(`training a ${kind} tokenizer on ${trainSources.length} file(s)…`);
  return trainTokenizerOnSources(trainSources, {
    kind,
    vocabSize: kind === 'bpe' ? Number(spec.slice(4)) : undefined,
    onMessage: (m) => err(`${m.file}: ${m.message}`),
  });
}

/**
 * SFTConfig from the flags, TRL's defaults for the rest (max_length at most the model's positions). Packing by
 * best-fit decreasing (bfd, bfd_split) trains as TRL's padding-free packing does: each packed example at its own
 * positions, attending within itself (the batch's position ids).
 */
function sftConfig(p: Parsed, positions: number): Partial<SftConfig> {
  const strategy = one(p, 'packing_strategy') ?? 'bfd';
  if (!['bfd', 'bfd_split', 'wrapped'].includes(strategy))
    throw new UsageError(`--packing_strategy takes bfd, bfd_split or wrapped, got '${strategy}'`);
  const packing = boolean(p, 'packing') ?? false;
  const maxLength = number(p, 'max_length') ?? Math.min(DEFAULT_SFT_CONFIG.max_length, positions);
  if (!(Number.isInteger(maxLength) && maxLength >= 2 && maxLength <= positions))
    throw new UsageError(
      `--max_length takes a whole number from 2 to the model's ${positions} positions, got ${maxLength}`,
    );
  return {
    dataset_text_field: one(p, 'dataset_text_field') ?? DEFAULT_SFT_CONFIG.dataset_text_field,
    max_length: maxLength,
    packing,
    packing_strategy: strategy as SftConfig['packing_strategy'],
    completion_only_loss: boolean(p, 'completion_only_loss') ?? null,
    assistant_only_loss: boolean(p, 'assistant_only_loss') ?? false,
  };
}

async function train(argv: string[]): Promise<void> {
  const spec: Record<string, FlagSpec> = {
    data: { many: true },
    eval: { many: true },
    model: {},
    tokenizer: {},
    dropout: {},
    out: {},
    resume: {},
    eval_split_fraction: {},
    // TRL's SFTConfig, for record files (JSON Lines, JSON, CSV, TSV, Parquet)
    dataset_text_field: {},
    max_length: {},
    packing: {},
    packing_strategy: {},
    completion_only_loss: {},
    assistant_only_loss: {},
    ...LORA_FLAGS,
    help: { boolean: true },
  };
  const p = parseArgs(argv, spec, true);
  if (p.switches.has('help')) {
    out(HELP.train);
    return;
  }
  const loraConfig = loraConfigFromFlags(p);
  if (loraConfig && one(p, 'resume'))
    throw new UsageError('--resume continues a LoRA run with its own adapter settings: leave out the --lora_ flags');
  const dataPaths = p.flags.get('data');
  if (!dataPaths?.length) throw new UsageError('--data needs at least one text file (see hearth train --help)');
  const outDir = one(p, 'out') ?? 'hearth-output';
  checkOutFolder(outDir);
  const evalFraction = number(p, 'eval_split_fraction') ?? 0.1;
  try {
    checkEvalFraction(evalFraction);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  // Folders an earlier run left half-written when it was killed: a cut replace is finished, the rest removed.
  await recoverInterruptedWrites(outDir);
  const ctx = await initTf();
  err(`device: ${describeGpu(ctx)}`);

  const resumeDir = one(p, 'resume');
  // A LoRA run's checkpoint holds the adapter alone: its base comes from --model, or the adapter's own record.
  const loraCheckpoint = resumeDir ? await readLoraCheckpoint(resumeDir) : null;
  const loraBase = loraCheckpoint ? (one(p, 'model') ?? loraCheckpoint.baseModel) : null;
  if (loraCheckpoint && !loraBase)
    throw new UsageError(`${resumeDir} holds a LoRA adapter: give its base model with --model`);
  const modelSpec = loraBase ?? resumeDir ?? one(p, 'model') ?? 'toy';
  let resumedAdapter: PeftAdapter | null = null;
  const trainSources = await sources(dataPaths);
  let setup: RunSetup;
  if (resumeDir || !PRESETS.some((x) => x.id === modelSpec)) {
    if (one(p, 'tokenizer'))
      throw new UsageError('--tokenizer is for new models; a checkpoint brings its own tokenizer');
    if (one(p, 'dropout'))
      throw new UsageError('--dropout is for new models; a checkpoint keeps the dropout rates of its config.json');
    const checkpoint = await loadCheckpoint(modelSpec);
    try {
      setup = setUpRun(
        resumeDir && !loraCheckpoint
          ? { kind: 'resume', checkpoint, name: resumeDir }
          : { kind: 'fine-tune', checkpoint },
      );
      if (loraCheckpoint) {
        const lora = loraResumeFromFiles(loraCheckpoint.files, setup.config);
        setup = { ...setup, resume: lora.resume };
        resumedAdapter = lora.adapter;
      }
    } catch (e) {
      if (e instanceof NoTrainingStateError) throw new UsageError(`${e.message} with --model`);
      throw e;
    }
  } else {
    const dropout = number(p, 'dropout') ?? DEFAULT_DROPOUT;
    if (!(dropout >= 0 && dropout < 1))
      throw new UsageError(`--dropout takes a probability from 0 up to (not including) 1, got ${dropout}`);
    let tokenizer = await newTokenizer(one(p, 'tokenizer') ?? 'gpt2', trainSources);
    // A new model fine-tuned on records gets a chat template when its tokenizer has none, so that conversations
    // train and its checkpoints chat; a character vocabulary cannot take one.
    if (trainSources.some((s) => isRecordFormat(fileFormatOf(s.name))) && !chatFormatterOf(tokenizer))
      tokenizer = withChatTemplate(tokenizer, DEFAULT_CHAT_TEMPLATE) ?? tokenizer;
    setup = setUpRun({ kind: 'preset', presetId: modelSpec, tokenizer, dropout });
  }
  const { config, tokenizer, resume } = setup;
  const args = runArguments(p.training, setup);
  const model = setup.makeModel(args.seed);
  if (resumedAdapter) {
    attachLoraForTraining(model, resumedAdapter.config, { values: resumedAdapter.tensors }, setup.baseWeights);
    err(`LoRA: continuing the adapter of ${resumeDir} (r ${resumedAdapter.config.r}) on ${modelSpec}`);
  }
  const lora = resumedAdapter?.config ?? loraConfig;
  if (loraConfig) err(attachLora(model, loraConfig, args.seed, setup.baseWeights));
  const baseName = modelSpec.startsWith('hf:') ? modelSpec.slice(3) : modelSpec;
  const adapterFiles = () => adapterFolderFiles(model, config, baseName, tokenizer.toTokenizerJson());

  const evalPaths = p.flags.get('eval');
  const evalSources = evalPaths ? await sources(evalPaths) : undefined;
  const cache = folderTokenCache(join(outDir, '.token-cache'));
  // Record files are fine-tuning examples, as TRL's SFTTrainer reads them; text files are TextDataset's blocks.
  const sft = trainSources.some((s) => isRecordFormat(fileFormatOf(s.name)));
  const sftFlags = ['dataset_text_field', 'max_length', 'packing', 'packing_strategy', 'completion_only_loss'];
  if (!sft) {
    const stray = [...sftFlags, 'assistant_only_loss'].find((f) => one(p, f) !== undefined);
    if (stray) throw new UsageError(`--${stray} is for record files (.jsonl, .json, .csv, .tsv, .parquet) in --data`);
  }
  const positions = sizesOf(config).max_position_embeddings;
  const sftData = sft
    ? await loadSftDataset(trainSources, {
        tokenizer,
        chat: chatFormatterOf(tokenizer),
        config: sftConfig(p, positions),
        evalSources,
        evalFraction: evalPaths ? undefined : evalFraction,
        cache,
      })
    : null;
  const data =
    sftData ??
    (await loadTextDataset(trainSources, {
      tokenizer,
      blockSize: args.block_size,
      evalSources,
      evalFraction: evalPaths ? undefined : evalFraction,
      cache,
    }));
  for (const m of data.messages) err(`${m.level}: ${m.file}: ${m.message}`);
  if (sftData) {
    // The rows' length is the data's: max_length, or the longest example when all are shorter.
    args.block_size = sftData.blockSize;
    for (const f of sftData.files) {
      const cut = f.truncated ? `; ${f.truncated} cut to max_length` : '';
      const left = f.dropped ? `; ${f.dropped} left out (nothing to learn after the cut)` : '';
      err(`${f.name}: ${f.examples} of ${f.records} records made examples, ${f.tokens} tokens${cut}${left}`);
    }
  }
  const mem = estimateRunMemory(config, args, model.lora ? loraTrainingTerms(config, model.lora.config) : undefined);
  err(
    `model: ${familyOf(config).label}, ${(parameterCount(config) / 1e6).toFixed(2)} M parameters, ${describeDims(config)}; ` +
      ('attn_pdrop' in config
        ? `dropout embd ${config.embd_pdrop}, attn ${config.attn_pdrop}, resid ${config.resid_pdrop} (training only)`
        : 'embed_dropout' in config
          ? `dropout embed ${config.embed_dropout}, attention ${config.attention_dropout}, resid ${config.resid_dropout} (training only)`
          : 'no dropout'),
  );
  err(`tokenizer: ${describeTokenizer(tokenizer.summary)}`);
  err(
    `data: ${data.train.numBlocks} training blocks of ${args.block_size} tokens${data.eval ? `, ${data.eval.numBlocks} eval blocks` : ''}`,
  );
  err(
    `memory: about ${(mem.total / 2 ** 20).toFixed(0)} MiB at a step's peak (weights ${(mem.weights / 2 ** 20).toFixed(0)}, gradients ${(mem.gradients / 2 ** 20).toFixed(0)}, AdamW ${mem.optimizerKind} ${(mem.optimizer / 2 ** 20).toFixed(0)}, activations ${(mem.activations / 2 ** 20).toFixed(0)}, backward workspace ${(mem.workspace / 2 ** 20).toFixed(0)} MiB)`,
  );

  const trainer: Trainer = new Trainer({
    model,
    args,
    train: data.train,
    eval: data.eval,
    resume: resume ?? undefined,
    limits: ctx.limits,
    callbacks: {
      onLog(e: LogEntry) {
        const line = `step ${e.step}/${trainer.totalSteps} epoch ${e.epoch.toFixed(2)} loss ${e.loss.toFixed(4)} lr ${e.learning_rate.toExponential(2)} grad_norm ${e.grad_norm.toFixed(3)} tokens/s ${e.tokens_per_second.toFixed(0)} elapsed ${fmtTime(e.elapsed_s)} eta ${fmtTime(e.eta_s)}`;
        if (tty) process.stdout.write(`\r\x1b[K${bar(e.step, trainer.totalSteps)} ${line}`);
        else out(line);
      },
      onEval(r: EvalResult) {
        const line = `eval step ${r.step}: eval_loss ${r.eval_loss.toFixed(4)} perplexity ${r.perplexity.toFixed(2)}`;
        out(tty ? `\n${line}` : line);
      },
      async onSave(snap) {
        if (lora) {
          const at = await saveCheckpointFiles(
            outDir,
            snap.state.step,
            loraSnapshotToFiles(snap, config, lora, baseName, tokenizer),
            { saveTotalLimit: args.save_total_limit, keepBest: args.load_best_model_at_end },
          );
          out(
            tty
              ? `\nsaved ${at} (the LoRA adapter and its training state)`
              : `saved ${at} (the LoRA adapter and its training state)`,
          );
          return;
        }
        const dir = await saveCheckpointFolder(outDir, snapshotToCheckpoint(snap, config, tokenizer), {
          saveTotalLimit: args.save_total_limit,
          keepBest: args.load_best_model_at_end,
        });
        out(tty ? `\nsaved ${dir}` : `saved ${dir}`);
      },
    },
  });
  const stop = () => {
    err('\nstopping after this step (Ctrl-C again to quit at once)…');
    process.off('SIGINT', stop);
    trainer.stop();
  };
  process.on('SIGINT', stop);
  ctx.lost.then((info) => {
    if (info.reason !== 'destroyed') {
      err(
        `\nthe GPU device was lost (${info.message || info.reason}); restart with --resume ${outDir}/checkpoint-<last step>`,
      );
      process.exit(3);
    }
  });
  err(`training ${trainer.totalSteps} steps (${trainer.stepsPerEpoch} per epoch)…`);
  const status = await trainer.trainLoop();
  if (tty) out('');
  const final = join(outDir, 'final');
  if (lora) {
    await writeCheckpointFolder(final, await adapterFiles());
    out(
      `${status} at step ${trainer.step}; LoRA adapter saved in ${final} (hearth merge --base ${modelSpec} --adapter ${final} --out DIR)`,
    );
    trainer.dispose();
    model.dispose();
    return;
  }
  const last = snapshotToCheckpoint(await trainer.snapshot(), config, tokenizer);
  const best = trainer.bestModel;
  if (best) {
    const which = `the best checkpoint, step ${best.step} (eval_loss ${best.eval_loss.toFixed(4)})`;
    out(
      best.changed
        ? `load_best_model_at_end: loaded ${which} into the model`
        : `load_best_model_at_end: the last step was ${which}`,
    );
  }
  // The best weights with the last step's optimizer state would resume wrongly: 'final' then holds the model alone
  // (resume from the last checkpoint-N instead).
  // Beside the model, train.py and its companions to continue the run on a cluster with the same arguments.
  const finalFiles = checkpointToFiles(best?.changed ? { ...last, training: undefined } : last);
  await writeCheckpointFolder(
    final,
    withPytorchFiles(finalFiles, { args: trainer.args, evalSplitFraction: evalFraction }),
  );
  out(
    `${status} at step ${trainer.step}; model saved in ${final}${best?.changed ? ` (the weights of step ${best.step})` : ''}`,
  );
  trainer.dispose();
  model.dispose();
}

async function evalCommand(argv: string[]): Promise<void> {
  const p = parseArgs(
    argv,
    {
      model: {},
      data: { many: true },
      json: { boolean: true },
      block_size: {},
      per_device_eval_batch_size: {},
      help: { boolean: true },
    },
    false,
  );
  if (p.switches.has('help')) {
    out(HELP.eval);
    return;
  }
  const modelSpec = one(p, 'model');
  const dataPaths = p.flags.get('data');
  if (!modelSpec) throw new UsageError('--model is required (see hearth eval --help)');
  if (!dataPaths?.length) throw new UsageError('--data needs at least one text file');
  await initTf();
  const ckpt = await loadCheckpoint(modelSpec);
  const tokenizer = checkpointTokenizer(ckpt);
  err(`tokenizer: ${describeTokenizer(tokenizer.summary)}`);
  const args = runArguments(
    { block_size: number(p, 'block_size'), per_device_eval_batch_size: number(p, 'per_device_eval_batch_size') ?? 8 },
    { config: ckpt.config, resume: null },
  );
  const data = await loadTextDataset(await sources(dataPaths), {
    tokenizer,
    blockSize: args.block_size,
    evalFraction: 0,
  });
  for (const m of data.messages) err(`${m.level}: ${m.file}: ${m.message}`);
  const model = CausalLM.fromArrays(ckpt.config, ckpt.weights);
  const r = await evaluate(model, data.train, args);
  if (p.switches.has('json'))
    out(JSON.stringify({ eval_loss: r.eval_loss, perplexity: r.perplexity, eval_tokens: r.eval_tokens }));
  else out(`eval_loss ${r.eval_loss.toFixed(4)}\nperplexity ${r.perplexity.toFixed(3)}\neval_tokens ${r.eval_tokens}`);
  model.dispose();
}

async function generateCommand(argv: string[]): Promise<void> {
  const spec: Record<string, FlagSpec> = {
    model: {},
    prompt: { allowEmpty: true },
    max_new_tokens: {},
    max_length: {},
    temperature: {},
    top_k: {},
    top_p: {},
    repetition_penalty: {},
    num_return_sequences: {},
    num_beams: {},
    length_penalty: {},
    early_stopping: {},
    no_repeat_ngram_size: {},
    seed: {},
    greedy: { boolean: true },
    no_cache: { boolean: true },
    chat: { boolean: true },
    help: { boolean: true },
  };
  const p = parseArgs(argv, spec, false);
  if (p.switches.has('help')) {
    out(HELP.generate);
    return;
  }
  const modelSpec = one(p, 'model');
  if (!modelSpec) throw new UsageError('--model is required (see hearth generate --help)');
  const prompt = one(p, 'prompt') ?? '';
  await initTf();
  const ckpt = await loadCheckpoint(modelSpec);
  const tokenizer = checkpointTokenizer(ckpt);
  err(`tokenizer: ${describeTokenizer(tokenizer.summary)}`);
  const model = CausalLM.fromArrays(ckpt.config, ckpt.weights);
  const n = number(p, 'num_return_sequences') ?? 1;
  const beams = number(p, 'num_beams') ?? 1;
  const earlyStoppingFlag = one(p, 'early_stopping');
  const earlyStopping =
    earlyStoppingFlag === undefined
      ? undefined
      : earlyStoppingFlag === 'never'
        ? 'never'
        : earlyStoppingFlag === 'true';
  if (earlyStoppingFlag !== undefined && !['true', 'false', 'never'].includes(earlyStoppingFlag))
    throw new UsageError(`--early_stopping takes true, false or never, got '${earlyStoppingFlag}'`);
  // --chat: the prompt is the user's message, rendered by the chat template with add_generation_prompt; the reply
  // ends at the template's end-of-turn token.
  const chat = p.switches.has('chat') ? chatFormatterOf(tokenizer) : null;
  if (p.switches.has('chat') && !chat)
    throw new UsageError(
      "--chat needs a chat template, and this model's tokenizer has none (tokenizer_config.json or chat_template.jinja)",
    );
  const chatPrompt = chat
    ? chatGenerationPrompt(chat, [{ role: 'user', content: prompt }], tokenizer.eosTokenIds)
    : null;
  const echo = chat ? '' : prompt;
  const stream = n === 1 && beams === 1;
  if (stream) process.stdout.write(echo);
  const result = await generate(
    model,
    tokenizer,
    chatPrompt?.ids ?? prompt,
    {
      do_sample: !p.switches.has('greedy') && beams === 1,
      max_new_tokens: number(p, 'max_new_tokens') ?? (number(p, 'max_length') === undefined ? 50 : undefined),
      max_length: number(p, 'max_length'),
      temperature: number(p, 'temperature'),
      top_k: number(p, 'top_k'),
      top_p: number(p, 'top_p'),
      repetition_penalty: number(p, 'repetition_penalty'),
      num_return_sequences: n,
      num_beams: beams,
      length_penalty: number(p, 'length_penalty'),
      early_stopping: earlyStopping,
      no_repeat_ngram_size: number(p, 'no_repeat_ngram_size'),
      seed: number(p, 'seed'),
      use_cache: !p.switches.has('no_cache'),
      ...(chatPrompt ? { eos_token_id: chatPrompt.stopIds } : {}),
    },
    { onToken: stream ? (e) => process.stdout.write(e.text) : undefined },
  );
  if (stream) out('');
  else
    result.sequences.forEach((s, i) => {
      const score = s.score === undefined ? '' : ` (score ${s.score.toFixed(4)})`;
      out(`--- ${i + 1}${score} ---\n${echo}${s.text}`);
    });
  const m = result.metadata;
  if (m.slidWindow) err(`(the context reached n_positions; the window slid ${m.windowSlides} time(s))`);
  if (m.unknownCharacters.length)
    err(`(not in the tokenizer's vocabulary, read as unknown: ${m.unknownCharacters.map((c) => `“${c}”`).join(' ')})`);
  const seed = m.doSample ? `, seed ${m.seed}` : '';
  err(`(${m.generatedTokens} tokens, ${m.decodeTokensPerSecond.toFixed(1)} tokens/s${seed})`);
  model.dispose();
}

const sizeText = (bytes: number) =>
  bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function exportCommand(argv: string[]): Promise<void> {
  const p = parseArgs(
    argv,
    { model: {}, out: {}, format: {}, dtype: {}, max_shard_size: {}, name: {}, help: { boolean: true } },
    false,
  );
  if (p.switches.has('help')) {
    out(HELP.export);
    return;
  }
  const modelSpec = one(p, 'model');
  if (!modelSpec) throw new UsageError('--model is required (see hearth export --help)');
  const outPath = one(p, 'out');
  if (!outPath) throw new UsageError('--out is required: a folder to create, or a file name ending in .zip');
  if (existsSync(outPath)) throw new UsageError(`--out ${outPath} already exists; give a new folder or .zip name`);
  const format = one(p, 'format') ?? (outPath.toLowerCase().endsWith('.gguf') ? 'gguf' : 'hf');
  if (format === 'gguf') {
    if (one(p, 'max_shard_size') !== undefined) throw new UsageError('--max_shard_size is for Hugging Face folders');
    await exportGguf(modelSpec, outPath, { dtype: one(p, 'dtype'), name: one(p, 'name') }, out, err);
    return;
  }
  if (format !== 'hf') throw new UsageError(`--format takes hf (a folder or zip) or gguf, got '${format}'`);
  if (one(p, 'name') !== undefined) throw new UsageError('--name is for GGUF files (general.name)');
  const dtypeName = one(p, 'dtype') ?? 'float32';
  const dtype = DTYPE_NAMES[dtypeName.toLowerCase()];
  if (!dtype) throw new UsageError(`--dtype takes float32, bfloat16 or float16, got '${dtypeName}'`);
  let maxShardBytes = DEFAULT_MAX_SHARD_BYTES;
  const size = one(p, 'max_shard_size');
  if (size !== undefined) {
    try {
      maxShardBytes = parseShardSize(size);
    } catch (e) {
      throw new UsageError(`--max_shard_size: ${(e as Error).message}`);
    }
  }
  const ckpt = await loadCheckpoint(modelSpec);
  err(`${familyOf(ckpt.config).label} model, ${(parameterCount(ckpt.config) / 1e6).toFixed(2)} M parameters`);
  const files = checkpointToFiles({ ...ckpt, training: undefined }, { weightsDtype: dtype, maxShardBytes });
  if (outPath.toLowerCase().endsWith('.zip')) {
    // Written beside its place and renamed into it: a zip that is there is whole.
    const tmp = `${outPath}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, zipFolder(files, safeFolderName(basename(outPath).slice(0, -4))));
      await rename(tmp, outPath);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  } else await writeCheckpointFolder(outPath, files);
  const weights = [...files.keys()].filter((n) => n.endsWith('.safetensors'));
  out(
    `wrote ${outPath}: ${TORCH_DTYPES[dtype]} weights in ${weights.length === 1 ? weights[0] : `${weights.length} shards and model.safetensors.index.json`}, ${sizeText(totalBytes(files))} in all`,
  );
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        await train(rest);
        break;
      case 'eval':
        await evalCommand(rest);
        break;
      case 'generate':
        await generateCommand(rest);
        break;
      case 'export':
        await exportCommand(rest);
        break;
      case 'push':
        await pushCommand(rest, out, err);
        break;
      case 'merge':
        await mergeCommand(rest, out, err);
        break;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        out(HELP.main);
        break;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`hearth: ${e.message}`);
      return 2;
    }
    err(`hearth: ${(e as Error).message}`);
    if (process.env.HEARTH_DEBUG) err((e as Error).stack ?? '');
    return 1;
  } finally {
    await tf.ready().catch(() => undefined);
  }
}
