// One training run in the worker: the dataset (dropped files, or the run's stored tokens when it resumes), the
// trainer, and checkpoints straight into the IndexedDB store every save_steps, rotated within the run by
// save_total_limit. Progress goes to the page as events.
import { estimateRunMemory } from '../core/train/fits.ts';
import { loadTextDataset, sourceFromBlob, DatasetError } from '../core/data/index.ts';
import type { AdapterBase, CheckpointStore } from '../core/checkpoint/store.ts';
import type { NamedTensors } from '../core/model/host_tensors.ts';
import { LoraConfigError, type LoraConfig } from '../core/model/lora/config.ts';
import { attachLoraForTraining, loraTrainingTerms } from '../core/train/lora_training.ts';
import { loraSnapshotToFiles } from '../core/train/lora_checkpoint.ts';
import type { CausalLM } from '../core/model/causal_lm.ts';
import { sizesOf, type ModelConfig } from '../core/model/families/index.ts';
import { argumentProblems, type TrainingArguments } from '../core/train/args.ts';
import { checkFits } from '../core/train/fits.ts';
import { Trainer, type BestModel, type TrainerStatus } from '../core/train/trainer.ts';
import { snapshotToCheckpoint } from '../core/train/checkpointing.ts';
import type { RunSetup } from '../core/train/run_setup.ts';
import { EngineError, type TrainEvent, type TrainRequest } from './protocol.ts';
import type { RunDataStore, RunDataset } from './run_data.ts';
import { isTokenBlocks, type BlockDataset } from '../core/data/blocks.ts';
import type { TokenizerRegistry } from './tokens.ts';
import { DEFAULT_SFT_OPTIONS, isRecordFile, loadSft, sftConfigOf } from './sft.ts';

/** A run as the page asked for it: what it starts from, and the names it goes by. */
export interface WorkerRun extends RunSetup {
  runName: string;
  modelLabel: string;
  /** a LoRA run: the adapter's config, its base, and its values when it continues one (else new, from the seed) */
  lora?: { config: LoraConfig; base: AdapterBase; values?: NamedTensors };
}

export interface RunContext {
  store: CheckpointStore;
  runData: RunDataStore;
  tokenizers: TokenizerRegistry;
  limits: Record<string, number>;
  /** waits until the GPU has done the work queued so far */
  gpuIdle: () => Promise<void>;
  emit: (e: TrainEvent) => void;
}

/** Every check before anything is put on the GPU: arguments, the LoRA config against the model, the GPU's limits. */
export function checkArguments(
  args: TrainingArguments,
  config: ModelConfig,
  limits: Record<string, number>,
  lora?: LoraConfig,
): void {
  const problems = argumentProblems(args, sizesOf(config).max_position_embeddings);
  for (const [name, message] of problems) throw new EngineError('invalid-argument', `${name}: ${message}`);
  try {
    if (lora) loraTrainingTerms(config, lora);
  } catch (e) {
    if (e instanceof LoraConfigError) throw new EngineError('invalid-argument', e.message);
    throw e;
  }
  try {
    checkFits({ dims: config }, args, limits);
  } catch (e) {
    throw new EngineError('does-not-fit', (e as Error).message);
  }
}

async function loadData(
  req: TrainRequest,
  setup: WorkerRun,
  args: TrainingArguments,
  ctx: RunContext,
): Promise<
  RunDataset & {
    stored: boolean;
    messages: { file: string; level: 'error' | 'warning'; message: string }[];
    /** fine-tuning records: the rows' length, which block_size becomes */
    blockSize?: number;
  }
> {
  const { files, evalFiles, evalFraction } = req.data;
  const totalBytes = [...files, ...evalFiles].reduce((n, f) => n + f.size, 0);
  // A resumed run continues on the blocks it began with, so it goes on exactly as if it had never stopped.
  const stored = setup.resume ? await ctx.runData.get(setup.runName, args.block_size) : null;
  if (stored)
    return {
      train: stored.train,
      eval: stored.eval,
      stored: true,
      messages: [],
      ...(stored.fineTuning ? { blockSize: stored.train.blockSize } : {}),
    };
  if (files.length === 0) {
    throw new EngineError(
      'no-data',
      setup.resume
        ? 'this run kept no training data in the browser: drop the training files again to resume it'
        : 'drop one or more text files to train on',
    );
  }
  // Record files are fine-tuning examples, as TRL's SFTTrainer makes them; their rows set block_size.
  if (files.some((f) => isRecordFile(f.name))) {
    const positions = sizesOf(setup.config).max_position_embeddings;
    const loaded = await loadSft(
      files.map((f) => sourceFromBlob(f)),
      {
        tokenizer: setup.tokenizer,
        config: sftConfigOf(req.data.sft ?? DEFAULT_SFT_OPTIONS, positions),
        cache: ctx.tokenizers.cache,
      },
      {
        evalSources: evalFiles.length ? evalFiles.map((f) => sourceFromBlob(f)) : undefined,
        evalFraction: evalFiles.length ? undefined : evalFraction,
        onBytes: (done) => ctx.emit({ kind: 'loading', what: 'fine-tuning records', done, total: totalBytes }),
      },
    );
    return {
      train: loaded.train,
      eval: loaded.eval,
      stored: false,
      messages: loaded.messages,
      blockSize: loaded.blockSize,
    };
  }
  try {
    const loaded = await loadTextDataset(
      files.map((f) => sourceFromBlob(f)),
      {
        tokenizer: setup.tokenizer,
        blockSize: args.block_size,
        evalSources: evalFiles.length ? evalFiles.map((f) => sourceFromBlob(f)) : undefined,
        evalFraction: evalFiles.length ? undefined : evalFraction,
        cache: ctx.tokenizers.cache,
        onProgress: (p) => ctx.emit({ kind: 'loading', what: p.file, done: p.allBytesDone, total: p.allBytesTotal }),
      },
    );
    return { train: loaded.train, eval: loaded.eval, stored: false, messages: loaded.messages };
  } catch (e) {
    if (e instanceof DatasetError) throw new EngineError('no-data', e.message);
    throw e;
  }
}

/** Whether every block of the data is read from the token cache, and so can be stored as a manifest. */
function keptInCache(data: RunDataset): boolean {
  const cached = (d: BlockDataset) => !isTokenBlocks(d) && d.manifest !== undefined;
  return cached(data.train) && (data.eval === null || cached(data.eval));
}

/** A training run from its setup to its end; the trainer is handed out as soon as it exists (for pause and stop). */
export async function runTraining(
  req: TrainRequest,
  setup: WorkerRun,
  ctx: RunContext,
  /**
   * saveSoon: a checkpoint of the model as it is now, after the step in flight (the page is going away); it resolves
   * once a paused run's save is written (a running one saves in its loop), so that resuming waits for it
   */
  onTrainer: (trainer: Trainer, model: CausalLM, saveSoon: () => Promise<void>) => void,
): Promise<{ status: TrainerStatus; step: number; bestModel?: BestModel }> {
  let args = req.args;
  const lora = setup.lora;
  checkArguments(args, setup.config, ctx.limits, lora?.config);
  const data = await loadData(req, setup, args, ctx);
  if (data.blockSize !== undefined) {
    args = { ...args, block_size: data.blockSize };
    checkArguments(args, setup.config, ctx.limits, lora?.config);
  }
  // Fine-tuning rows carry loss masks, which a copy of plain tokens cannot keep: they are stored as their manifest
  // (the worker reads them from the token cache, so they have one).
  if (!data.stored && (data.blockSize === undefined || keptInCache(data))) await ctx.runData.put(setup.runName, data);
  const runs = new Set((await ctx.store.list()).map((c) => c.run).filter((r): r is string => r !== null));
  await ctx.runData.sweep(runs.add(setup.runName)).catch(() => undefined);

  const model = setup.makeModel(args.seed);
  // LoRA as the CLI trains it: the base frozen, the adapter (new from the seed, or the one continued) trained.
  if (lora)
    attachLoraForTraining(
      model,
      lora.config,
      lora.values ? { values: lora.values } : { seed: args.seed },
      setup.baseWeights,
    );
  let lastSaved = setup.resume?.state.step ?? -1;
  let lastStepEvent = 0;
  /** a save asked for between scheduled ones; saved where a step has ended, as scheduled saves are */
  let saveWanted = false;
  let saving: Promise<void> | null = null;
  const saveIfNew = (): Promise<void> => {
    saveWanted = false;
    // As a stop does: steps no checkpoint holds yet, unless the arguments say never to save.
    if (saving) return saving;
    if (args.save_strategy === 'no' || trainer.step <= lastSaved) return Promise.resolve();
    saving = trainer.save().finally(() => (saving = null));
    return saving;
  };
  const trainer = new Trainer({
    model,
    args,
    train: data.train,
    eval: data.eval,
    resume: setup.resume ? { state: setup.resume.state, optimizer: setup.resume.optimizer } : undefined,
    limits: ctx.limits,
    callbacks: {
      onLog: (entry) => ctx.emit({ kind: 'log', entry }),
      onEval: (result) => ctx.emit({ kind: 'eval', result }),
      onStatus: (status) => ctx.emit({ kind: 'status', status }),
      onSave: async (snap) => {
        const options = {
          name: `${setup.runName} step ${snap.state.step}`,
          run: setup.runName,
          saveTotalLimit: args.save_total_limit,
          keepBest: args.load_best_model_at_end,
        };
        const checkpoint = lora
          ? await ctx.store.saveAdapter(
              loraSnapshotToFiles(snap, setup.config, lora.config, lora.base.name, setup.tokenizer),
              {
                config: setup.config,
                step: snap.state.step,
                evalLoss: snap.state.lastEvalLoss,
                r: lora.config.r,
                base: lora.base,
              },
              options,
            )
          : await ctx.store.save(snapshotToCheckpoint(snap, setup.config, setup.tokenizer), options);
        lastSaved = snap.state.step;
        ctx.emit({ kind: 'saved', checkpoint });
      },
      onStep: async (step) => {
        if (saveWanted) await saveIfNew();
        // Waiting for the GPU keeps the step shown honest, bounds the queued work, and lets pause and stop in.
        await ctx.gpuIdle();
        const now = performance.now();
        if (now - lastStepEvent > 250 || step === trainer.totalSteps) {
          lastStepEvent = now;
          ctx.emit({ kind: 'step', step });
        }
      },
    },
  });
  onTrainer(trainer, model, async () => {
    // Waiting at the pause, nothing in flight: save now. Otherwise where the step in flight ends; a paused run may
    // reach the pause without another step ending (the ask came after its last one), so it saves there.
    if (!trainer.atRest) {
      saveWanted = true;
      while (saveWanted && trainer.status === 'paused' && !trainer.atRest) await new Promise((r) => setTimeout(r, 20));
      if (!saveWanted || !trainer.atRest) return;
    }
    await saveIfNew().catch(() => undefined);
  });
  ctx.emit({
    kind: 'started',
    run: {
      runName: setup.runName,
      modelLabel: setup.modelLabel,
      totalSteps: trainer.totalSteps,
      stepsPerEpoch: trainer.stepsPerEpoch,
      startStep: trainer.step,
      trainBlocks: data.train.numBlocks,
      evalBlocks: data.eval?.numBlocks ?? 0,
      memory: estimateRunMemory(model.dims, args, lora ? loraTrainingTerms(setup.config, lora.config) : undefined),
      history: [...trainer.history],
      messages: data.messages,
    },
  });
  try {
    const status = await trainer.trainLoop();
    // A stopped run keeps what it learned since its last save (Hugging Face saves only on schedule).
    if (status === 'stopped') await saveIfNew();
    // With load_best_model_at_end the model now holds the best checkpoint's weights (evaluate, generate and export
    // use them); the page says which.
    return { status, step: trainer.step, ...(trainer.bestModel ? { bestModel: trainer.bestModel } : {}) };
  } finally {
    trainer.dispose();
  }
}
