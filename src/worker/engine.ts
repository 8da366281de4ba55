// The worker's engine: owns the GPU (tfjs on Hearth's device), the tokenizers, the model in use, the training
// run and generation, and answers the page's requests (protocol.ts). Requests run concurrently: a pause or a
// generation is served while a run waits between steps.
import { describeGpu, NoWebGPUError, type GpuContext } from '../core/gpu/device.ts';
import { finishQueuedWork, initTf } from '../core/gpu/tf.ts';
import { CheckpointError } from '../core/checkpoint/errors.ts';
import type { HubProgress } from '../core/checkpoint/hub.ts';
import { CheckpointStore } from '../core/checkpoint/store.ts';
import { streamGenerate } from '../core/generate/index.ts';
import { CausalLM } from '../core/model/causal_lm.ts';
import { ModelConfigError } from '../core/model/config_error.ts';
import { PRESETS } from '../core/model/presets.ts';
import { NoTrainingStateError, setUpRun } from '../core/train/run_setup.ts';
import { ArgumentError } from '../core/train/args.ts';
import { TrainingDivergedError, type Trainer } from '../core/train/trainer.ts';
import type { Tokenizer } from '../core/tokenizer/types.ts';
import {
  EngineError,
  type ErrorPayload,
  type GpuSummary,
  type ReplyMessage,
  type RequestMessage,
  type Requests,
  type TrainRequest,
} from './protocol.ts';
import { TokenizerRegistry } from './tokens.ts';
import { loadModel, sourceKey, type LoadedModel } from './models.ts';
import type { AdapterBase } from '../core/checkpoint/store.ts';
import { RunDataStore } from './run_data.ts';
import { runTraining, type WorkerRun } from './training.ts';
import { isRecordFile, prepareSftFile, sftConfigOf, sftTokenizer } from './sft.ts';
import { chatFormatterOf, chatGenerationPrompt } from '../core/data/chat.ts';

type Handler<K extends keyof Requests> = (
  payload: Requests[K]['payload'],
  emit: (event: Requests[K]['event']) => void,
  signal: AbortSignal,
) => Promise<Requests[K]['result']>;

/** The model generation uses: the one training (or trained), or the last one loaded. */
interface ActiveModel {
  model: CausalLM;
  tokenizer: Tokenizer;
  label: string;
}

export class Engine {
  private gpuReady: Promise<GpuContext> | null = null;
  private deviceGone = false;
  private closing = false;
  private readonly store = new CheckpointStore();
  private readonly tokenizers = new TokenizerRegistry();
  private readonly runData = new RunDataStore(this.tokenizers.cache);
  /** the last model loaded from the store or the Hub, kept on the CPU for fine-tuning */
  private loaded: LoadedModel | null = null;
  private active: ActiveModel | null = null;
  private trainer: Trainer | null = null;
  /** asks the run in progress for a checkpoint of the model as it is now */
  private saveSoon: (() => Promise<void>) | null = null;
  /** that save, while a paused run writes it: resuming waits for it, so no step changes the model mid-snapshot */
  private pausedSave: Promise<void> | null = null;
  private training = false;
  private generating = false;
  private readonly inFlight = new Map<number, AbortController>();

  constructor(private readonly post: (message: ReplyMessage) => void) {}

  handle(message: RequestMessage): void {
    const { kind, id } = message;
    const controller = new AbortController();
    this.inFlight.set(id, controller);
    const handler = this.handlers[kind] as Handler<typeof kind>;
    const emit = (payload: unknown) => this.post({ kind: 'event', id, payload });
    void (async () => {
      try {
        if (!handler) throw new EngineError('failed', `unknown request '${kind}'`);
        const result = await handler(message.payload as never, emit as never, controller.signal);
        this.post({ kind: 'result', id, payload: result });
      } catch (e) {
        this.post({ kind: 'error', id, payload: this.errorPayload(e, controller.signal) });
      } finally {
        this.inFlight.delete(id);
      }
    })();
  }

  private gpu(): Promise<GpuContext> {
    this.gpuReady ??= initTf().then((ctx) => {
      void ctx.lost.then((info) => {
        this.deviceGone = true;
        if (!this.closing)
          this.post({ kind: 'deviceLost', id: 0, payload: { message: info.message || String(info.reason) } });
      });
      return ctx;
    });
    return this.gpuReady;
  }

  /** Waits for the GPU to finish what tfjs has queued (tfjs records into an encoder of its own: submit it first). */
  private async gpuIdle(): Promise<void> {
    await finishQueuedWork(await this.gpu());
  }

  private errorPayload(e: unknown, signal: AbortSignal): ErrorPayload {
    const message = e instanceof Error ? e.message : String(e);
    if (this.deviceGone) return { code: 'device-lost', message: `the GPU device was lost (${message})` };
    if (e instanceof EngineError) return { code: e.code, message };
    if (signal.aborted || (e instanceof CheckpointError && e.code === 'cancelled'))
      return { code: 'cancelled', message };
    if (e instanceof NoWebGPUError) return { code: 'no-webgpu', message };
    if (e instanceof TrainingDivergedError) return { code: 'diverged', message };
    if (e instanceof ArgumentError) return { code: 'invalid-argument', message };
    if (e instanceof CheckpointError || e instanceof ModelConfigError || e instanceof NoTrainingStateError)
      return { code: 'checkpoint', message };
    return { code: 'failed', message };
  }

  private setActive(next: ActiveModel | null): void {
    if (this.active && this.active.model !== next?.model) this.active.model.dispose();
    this.active = next;
  }

  private readonly handlers: { [K in keyof Requests]: Handler<K> } = {
    init: async () => {
      // Before any file is counted or loaded, so no entry a request reads is swept under it.
      await this.tokenizers.sweepCache().catch(() => undefined);
      const ctx = await this.gpu();
      const { info, features } = ctx;
      const summary: GpuSummary = {
        name:
          info.description ||
          [info.vendor, info.architecture].filter(Boolean).join(' ') ||
          info.device ||
          'unnamed adapter',
        summary: describeGpu(ctx),
        software: info.software,
        features: Object.entries({
          'shader-f16': features.shaderF16,
          subgroups: features.subgroups,
          'timestamp-query': features.timestampQuery,
        })
          .filter(([, on]) => on)
          .map(([name]) => name),
        limits: ctx.limits,
      };
      return summary;
    },

    useTokenizer: async ({ spec }) => this.tokenizers.use(spec),

    countTokens: async ({ file, tokenizer }, emit) => this.tokenizers.count(file, tokenizer, emit),

    prepareSft: async ({ file, tokenizer, newModel, positions, options }, emit) => {
      const t = sftTokenizer(await this.tokenizers.get(tokenizer), newModel);
      return prepareSftFile(
        file,
        { tokenizer: t, config: sftConfigOf(options, positions), cache: this.tokenizers.cache },
        emit,
      );
    },

    loadModel: async ({ source }, emit, signal) => {
      if (this.training)
        throw new EngineError('busy', 'a training run is in progress: stop it before changing the model');
      // A 500 MB download arrives in thousands of chunks: a few progress messages a second are enough.
      let last = 0;
      const progress = (p: HubProgress) => {
        const now = performance.now();
        if (now - last < 100 && p.fileLoaded !== p.fileTotal) return;
        last = now;
        emit(p);
      };
      const loaded = await loadModel(source, this.store, this.tokenizers, progress, signal);
      if (this.generating) throw new EngineError('busy', 'a generation is running: stop it before changing the model');
      await this.gpu();
      // On the GPU at once, so that generation can start from it: an adapter runs on its base, unmerged.
      const model = CausalLM.fromArrays(loaded.checkpoint.config, loaded.checkpoint.weights);
      if (loaded.adapter) model.attachLora(loaded.adapter.peft.config, { values: loaded.adapter.peft.tensors });
      this.setActive({ model, tokenizer: loaded.tokenizer, label: loaded.info.label });
      this.trainer = null;
      this.loaded = loaded;
      return loaded.info;
    },

    train: async (req, emit) => {
      if (this.training) throw new EngineError('busy', 'a training run is already in progress');
      this.training = true;
      try {
        const ctx = await this.gpu();
        const setup = await this.runSetup(req);
        const build = setup.makeModel;
        return await runTraining(
          req,
          {
            ...setup,
            // The previous model leaves the GPU just before the new one arrives (after every check has passed).
            makeModel: (seed) => {
              this.trainer = null;
              this.setActive(null);
              return build(seed);
            },
          },
          {
            store: this.store,
            runData: this.runData,
            tokenizers: this.tokenizers,
            limits: ctx.limits,
            gpuIdle: () => this.gpuIdle(),
            emit,
          },
          (trainer, model, saveSoon) => {
            this.trainer = trainer;
            this.saveSoon = saveSoon;
            this.setActive({ model, tokenizer: setup.tokenizer, label: setup.modelLabel });
          },
        );
      } finally {
        this.training = false;
        this.saveSoon = null;
        this.pausedSave = null;
      }
    },

    control: async ({ action }) => {
      const t = this.trainer;
      if (!t || !this.training) throw new EngineError('no-model', 'no training run is in progress');
      if (action === 'pause') t.pause();
      else if (action === 'resume') {
        await this.pausedSave;
        this.pausedSave = null;
        if (this.generating)
          throw new EngineError('busy', 'generation is running: stop it, or wait for it, before resuming');
        t.resume();
      } else if (action === 'save') this.pausedSave = this.saveSoon?.() ?? null;
      else t.stop();
      return null;
    },

    evaluate: async () => {
      if (!this.trainer) throw new EngineError('no-model', 'train a model first');
      if (this.trainer.status === 'running') throw new EngineError('busy', 'pause training to evaluate');
      return this.trainer.evaluate();
    },

    generate: async ({ prompt, options, chat }, emit, signal) => {
      const active = this.active;
      if (!active) throw new EngineError('no-model', 'train a model, or load a saved or Hub model, to generate from');
      const status = this.trainer?.status;
      if (this.training && (status === 'running' || status === 'stopping'))
        throw new EngineError('busy', 'pause training to generate');
      if (this.generating) throw new EngineError('busy', 'a generation is already running');
      // Chat: the prompt as the user's turn, rendered with add_generation_prompt; the reply stops at the end of turn.
      const formatter = chat ? chatFormatterOf(active.tokenizer) : null;
      if (chat && !formatter)
        throw new EngineError(
          'invalid-argument',
          `${active.label}: its tokenizer has no chat template, so it cannot chat (turn chat off to continue text)`,
        );
      const turn = formatter
        ? chatGenerationPrompt(formatter, [{ role: 'user', content: prompt }], active.tokenizer.eosTokenIds)
        : null;
      this.generating = true;
      try {
        const stream = streamGenerate(
          active.model,
          active.tokenizer,
          turn?.ids ?? prompt,
          turn ? { ...options, eos_token_id: turn.stopIds } : options,
          signal,
        );
        for (;;) {
          const r = await stream.next();
          if (!r.done) {
            emit(r.value);
            continue;
          }
          const { metadata, sequences } = r.value;
          return {
            metadata,
            finishReasons: sequences.map((s) => s.finishReason),
            scores: sequences.flatMap((s) => (s.score === undefined ? [] : [s.score])),
          };
        }
      } finally {
        this.generating = false;
      }
    },

    cancel: async ({ target }) => {
      this.inFlight.get(target)?.abort();
      return null;
    },

    loseDevice: async () => {
      (await this.gpu()).device.destroy();
      return null;
    },
  };

  /** Where the run's model, tokenizer and (when resuming) training state come from. */
  private async runSetup(req: TrainRequest): Promise<WorkerRun> {
    const m = req.model;
    if (req.lora && m.kind !== 'loaded')
      throw new EngineError(
        'invalid-argument',
        m.kind === 'preset'
          ? 'LoRA adapts a trained model: load a saved checkpoint or a Hub model to train an adapter on'
          : 'a resumed run keeps its own LoRA settings: turn LoRA off to resume',
      );
    if (m.kind === 'preset') {
      const tokenizer = sftTokenizer(
        await this.tokenizers.get(m.tokenizer),
        req.data.files.some((f) => isRecordFile(f.name)),
      );
      const setup = setUpRun({ kind: 'preset', presetId: m.presetId, tokenizer, dropout: m.dropout });
      const preset = PRESETS.find((p) => p.id === m.presetId)!;
      return { ...setup, runName: req.runName, modelLabel: `new ${preset.label}` };
    }
    if (m.kind === 'loaded') {
      const loaded = this.loaded;
      if (!loaded || loaded.info.key !== m.key)
        throw new EngineError('no-model', 'the chosen model is no longer loaded: choose it again');
      const setup = setUpRun({ kind: 'fine-tune', checkpoint: loaded.checkpoint, tokenizer: loaded.tokenizer });
      const run = { ...setup, runName: req.runName, modelLabel: loaded.info.label };
      // A loaded adapter trains on with a fresh optimizer; a new adapter goes on a whole model.
      if (loaded.adapter) {
        if (req.lora)
          throw new EngineError(
            'invalid-argument',
            `${loaded.info.label} is a LoRA adapter already: choose its base (${loaded.adapter.base.name}) to train a new one`,
          );
        const { peft, base } = loaded.adapter;
        return { ...run, lora: { config: peft.config, base, values: peft.tensors } };
      }
      if (!req.lora) return run;
      const src = loaded.source;
      const base: AdapterBase =
        src.kind === 'checkpoint'
          ? { kind: 'checkpoint', id: src.id, name: loaded.info.label }
          : { kind: 'hub', repo: src.repo, ...(src.endpoint ? { endpoint: src.endpoint } : {}), name: src.repo };
      return { ...run, lora: { config: req.lora, base } };
    }
    const summary = await this.store.summary(m.checkpointId);
    if (summary.adapter) {
      // A LoRA run continues on its base: the adapter, its AdamW moments, step and data position.
      const source = { kind: 'checkpoint', id: m.checkpointId } as const;
      const loaded =
        this.loaded?.info.key === sourceKey(source)
          ? this.loaded
          : await loadModel(source, this.store, this.tokenizers, () => undefined, new AbortController().signal);
      const adapter = loaded.adapter!;
      if (!adapter.resume) throw new NoTrainingStateError(summary.name);
      const setup = setUpRun({ kind: 'fine-tune', checkpoint: loaded.checkpoint, tokenizer: loaded.tokenizer });
      return {
        ...setup,
        resume: adapter.resume,
        runName: summary.run ?? req.runName,
        modelLabel: summary.name,
        lora: { config: adapter.peft.config, base: summary.adapter.base, values: adapter.peft.tensors },
      };
    }
    const checkpoint = await this.store.load(m.checkpointId);
    const loaded = this.loaded?.info.key === `checkpoint:${m.checkpointId}` ? this.loaded : null;
    const setup = setUpRun({ kind: 'resume', checkpoint, name: summary.name, tokenizer: loaded?.tokenizer });
    return { ...setup, runName: summary.run ?? req.runName, modelLabel: summary.name };
  }
}
