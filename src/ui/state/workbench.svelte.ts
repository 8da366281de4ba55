// The whole workflow's state in one place: the parts the panels edit (model, tokenizer, data, arguments), the
// run and the generation the worker drives, and what stands in the way of each. It also remembers the run in
// flight (localStorage), so a reload or a lost GPU can offer to continue from the run's last checkpoint.
import { checkFits } from '../../core/train/fits.ts';
import { sizesOf } from '../../core/model/families/index.ts';
import { CheckpointStore, type CheckpointSummary } from '../../core/checkpoint/store.ts';
import { EngineClient, RequestError, type BestModel, type TrainEvent, type TrainModel } from '../../worker/client.ts';
import { GpuState } from './gpu.svelte.ts';
import { TokenizerChoice } from './tokenizer.svelte.ts';
import { ModelChoice } from './model.svelte.ts';
import { DataFiles } from './data.svelte.ts';
import { TrainingArgsForm } from './training_args.svelte.ts';
import { CheckpointList } from './checkpoints.svelte.ts';
import { TrainRun } from './training.svelte.ts';
import { GenerationSession } from './generation.svelte.ts';
import { SftSettings } from './sft.svelte.ts';
import { LoraSettings } from './lora.svelte.ts';
import { takePendingDownload } from '../hub_mirror.ts';

const RUN_KEY = 'hearth.runInFlight';

export interface InterruptedRun {
  checkpoint: CheckpointSummary;
  reason: 'reload' | 'device-lost';
}

export class Workbench {
  readonly client = new EngineClient();
  readonly gpu = new GpuState(this.client);
  readonly tokenizer = new TokenizerChoice(this.client);
  readonly model = new ModelChoice(this.client, () => this.tokenizer.current);
  readonly data = new DataFiles(this.client, 'hearth.trainingFiles');
  readonly evalData = new DataFiles(this.client, 'hearth.evaluationFiles');
  readonly args = new TrainingArgsForm(() =>
    this.model.dims ? sizesOf(this.model.dims).max_position_embeddings : 1024,
  );
  readonly checkpoints = new CheckpointList(new CheckpointStore());
  readonly run = new TrainRun();
  readonly generation = new GenerationSession();
  /** TRL's SFTConfig options for record files */
  readonly sft = new SftSettings();
  /** PEFT's LoraConfig: train an adapter on the frozen model */
  readonly lora = new LoraSettings(() => this.model.dims);

  /** why the LoRA switch does not apply to the chosen model, in words; null when it does */
  loraNote = $derived.by(() => {
    const m = this.model;
    const adapter = m.loaded?.lora;
    if (adapter)
      return `${m.loaded!.label} is a LoRA adapter (r=${adapter.config.r}) of ${adapter.base}: training ${m.resuming ? 'continues its run' : 'goes on with its settings'}.`;
    if (m.source === 'preset') return 'LoRA adapts a trained model: load a saved checkpoint or a Hub model first.';
    if (m.resuming)
      return 'A resumed run keeps its own settings: choose “Fine-tune its weights” to train an adapter on it.';
    return null;
  });
  /** the LoRA switch is on and applies to the chosen model */
  loraActive = $derived(this.lora.enabled && this.loraNote === null);

  /** evaluate on the last share of the training blocks, or on files of their own */
  evalMode = $state<'split' | 'files'>('split');
  evalPercentText = $state('10');
  interrupted = $state.raw<InterruptedRun | null>(null);
  /** the model the worker would generate from, in words */
  generationModel = $state<string | null>(null);
  /** the model trained in this tab has steps no checkpoint holds (save_strategy "no"); a reload would lose them */
  trainedUnsaved = $state(false);
  /** closing or reloading the tab would lose work: the browser asks first */
  unsavedWork = $derived(this.run.active || this.trainedUnsaved);
  /** the last step of the current run a checkpoint holds */
  #savedStep = 0;

  evalFraction = $derived.by(() => {
    const v = Number(this.evalPercentText);
    return this.evalPercentText.trim() !== '' && Number.isFinite(v) && v >= 0 && v < 100 ? v / 100 : null;
  });

  /** the adapter's refusal of these arguments, with the numbers; null when the run fits */
  fitProblem = $derived.by(() => {
    const dims = this.model.dims;
    if (this.gpu.status.kind !== 'ready' || !dims || !this.args.valid) return null;
    try {
      checkFits({ dims }, this.args.parsed.args, this.gpu.status.limits);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  });

  trainBlockers = $derived.by(() => this.#trainBlockers());

  generateBlockers = $derived.by(() => {
    const out: string[] = [];
    const gpu = this.gpu.status.kind;
    if (gpu === 'checking') out.push('Waiting for the GPU.');
    else if (gpu !== 'ready') out.push('Generation needs a WebGPU device.');
    else if (!this.generationModel) out.push('Train a model first, or load a Hub model or a saved checkpoint.');
    else if (this.run.status === 'running' || this.run.status === 'stopping' || this.run.status === 'preparing')
      out.push('Pause training to generate.');
    return out;
  });

  #generation: AbortController | null = null;

  constructor() {
    this.client.onDeviceLost(() => {
      this.generationModel = null;
      this.trainedUnsaved = false;
    });
  }

  #trainBlockers(): string[] {
    const out: string[] = [];
    const gpu = this.gpu.status.kind;
    if (gpu === 'unavailable') out.push('Training needs WebGPU, which this browser does not offer.');
    else if (gpu === 'lost') out.push('The GPU was lost: restart from the last checkpoint, or reload the page.');
    else if (gpu !== 'ready') out.push('Waiting for the GPU.');
    const m = this.model;
    if (m.source === 'preset' && !m.tokenizer) {
      const t = this.tokenizer.status;
      out.push(
        t.kind === 'waiting'
          ? 'Drop training files: the tokenizer is trained on them.'
          : t.kind === 'failed'
            ? `The tokenizer failed: ${t.message}`
            : 'The tokenizer is getting ready.',
      );
    }
    if (m.source === 'preset' && m.dropoutRate === null)
      out.push('Dropout must be a number from 0 up to (not including) 1.');
    if (m.source === 'hub' && !m.loaded) out.push('Download the model from the Hub first.');
    if (m.source === 'checkpoint' && !m.loaded)
      out.push(m.checkpointId ? 'The checkpoint is loading.' : 'Choose a checkpoint.');
    // A resumed run trains on the blocks it stored when it began; dropped files matter only if it stored none.
    if (!m.resuming) {
      if (this.data.busy || (this.evalMode === 'files' && this.evalData.busy)) out.push('Files are still being read.');
      else if (this.data.usable.length === 0) out.push('Drop one or more text files to train on.');
      if (this.evalMode === 'split' && this.evalFraction === null)
        out.push('The evaluation share must be a percentage from 0 to 99.');
      if (this.data.hasRecords && this.sft.maxLengthProblem) out.push(`Fine-tuning: ${this.sft.maxLengthProblem}.`);
      if (this.evalMode === 'files' && this.evalData.usable.length === 0)
        out.push('Add evaluation files, or hold out a share of the training text.');
    }
    const problems = this.args.parsed.problems.size;
    if (problems) out.push(`${problems} training ${problems === 1 ? 'argument needs' : 'arguments need'} fixing.`);
    if (this.loraActive) {
      const l = this.lora.parsed;
      for (const [name, message] of l.problems) out.push(`LoRA ${name} ${message}.`);
      if (l.modelProblem) out.push(l.modelProblem);
    }
    if (this.fitProblem) out.push(this.fitProblem);
    return out;
  }

  async start(): Promise<void> {
    if (this.run.active || this.trainBlockers.length) return;
    const m = this.model;
    let model: TrainModel;
    if (m.source === 'preset')
      model = { kind: 'preset', presetId: m.presetId, tokenizer: m.tokenizer!.key, dropout: m.dropoutRate! };
    else if (m.resuming) model = { kind: 'resume', checkpointId: m.checkpointId! };
    else model = { kind: 'loaded', key: m.loaded!.key };
    const runName =
      (m.resuming && m.loaded?.run) || newRunName(m.source === 'preset' ? m.presetId : (m.loaded?.label ?? 'model'));
    this.interrupted = null;
    this.run.prepare();
    try {
      const result = await this.client.call(
        'train',
        {
          runName,
          model,
          args: $state.snapshot(this.args.parsed.args),
          lora: this.loraActive ? $state.snapshot(this.lora.parsed.config) : null,
          data: {
            files: usableFiles(this.data, m.resuming),
            evalFiles: this.evalMode === 'files' ? usableFiles(this.evalData, m.resuming) : [],
            evalFraction: this.evalMode === 'split' ? (this.evalFraction ?? 0.1) : 0,
            sft: $state.snapshot(this.sft.options),
          },
        },
        { onEvent: (e) => this.#onTrainEvent(e) },
      );
      forgetRun();
      this.trainedUnsaved = result.step > this.#savedStep;
      this.run.end(
        result.status === 'finished' ? 'finished' : 'stopped',
        result.status === 'finished' ? bestModelMessage(result.bestModel) : `Stopped at step ${result.step}.`,
      );
    } catch (e) {
      const code = e instanceof RequestError ? e.code : 'failed';
      const message = e instanceof Error ? e.message : String(e);
      if (code === 'device-lost') {
        this.run.end(
          'failed',
          `The GPU was lost at step ${this.run.step}. The checkpoints saved so far are kept.`,
          code,
        );
      } else {
        forgetRun();
        // A diverged model holds NaN weights: nothing to generate from.
        if (code === 'diverged') this.generationModel = null;
        this.run.end('failed', code === 'diverged' ? `${message}` : `Training failed: ${message}`, code);
      }
    }
    await this.checkpoints.refresh();
    if (this.run.failure === 'device-lost') this.interrupted = this.#lastCheckpointOf(this.run.runName, 'device-lost');
    // A resumed checkpoint may have been rotated out by save_total_limit: the choice moves to the run's newest.
    if (
      this.run.failure !== 'device-lost' &&
      m.source === 'checkpoint' &&
      m.checkpointId &&
      !this.checkpoints.entries.some((c) => c.id === m.checkpointId)
    ) {
      void this.chooseCheckpoint(this.#lastCheckpointOf(this.run.runName, 'reload')?.checkpoint.id ?? null);
    }
  }

  #onTrainEvent(e: TrainEvent): void {
    const run = this.run;
    switch (e.kind) {
      case 'loading':
        run.loading = { what: e.what, done: e.done, total: e.total };
        break;
      case 'started':
        run.begin(e.run);
        this.#savedStep = e.run.startStep;
        this.trainedUnsaved = false;
        rememberRun(e.run.runName);
        this.generationModel = `the model being trained (${e.run.modelLabel})`;
        break;
      case 'step':
        run.stepped(e.step);
        break;
      case 'log':
        run.log(e.entry);
        break;
      case 'eval':
        run.evaluated({ step: e.result.step, eval_loss: e.result.eval_loss });
        break;
      case 'status':
        if (e.status === 'running' || e.status === 'paused' || e.status === 'stopping') run.status = e.status;
        break;
      case 'saved':
        this.#savedStep = Math.max(this.#savedStep, e.checkpoint.step ?? 0);
        run.checkpointsSaved++;
        void this.checkpoints.refresh();
        break;
    }
  }

  pause(): void {
    void this.#control('pause');
  }

  resume(): void {
    void this.#control('resume');
  }

  stop(): void {
    void this.#control('stop');
  }

  /** eval_loss now, on the run's evaluation blocks (while paused, or after the run). */
  async evaluate(): Promise<void> {
    this.run.evaluating = true;
    try {
      const r = await this.client.call('evaluate', {});
      this.run.evaluated({ step: r.step, eval_loss: r.eval_loss });
      this.run.message = `Evaluated at step ${r.step}: eval_loss ${r.eval_loss.toFixed(4)}, perplexity ${r.perplexity.toFixed(2)} over ${r.eval_tokens} tokens.`;
    } catch (e) {
      this.run.message = e instanceof Error ? e.message : String(e);
    } finally {
      this.run.evaluating = false;
    }
  }

  async #control(action: 'pause' | 'resume' | 'stop'): Promise<void> {
    try {
      await this.client.call('control', { action });
    } catch (e) {
      this.run.message = e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * The tab is going (closed, reloaded, navigated away): a run in progress saves a checkpoint of its model as it is
   * now, after the step in flight, through its usual save. Best effort: the browser may end the worker first, and a
   * save cut short is swept as any interrupted save is.
   */
  saveBeforeLeaving(): void {
    if (this.run.status !== 'running' && this.run.status !== 'paused') return;
    this.client.call('control', { action: 'save' }).catch(() => undefined);
  }

  /** Continues a run from one of its checkpoints, on a fresh worker when the GPU was lost. */
  async resumeFrom(checkpointId: string): Promise<void> {
    if (this.run.active) return;
    this.interrupted = null;
    if (this.gpu.status.kind === 'lost') await this.restartGpu();
    this.model.source = 'checkpoint';
    this.model.resume = true;
    await this.model.chooseCheckpoint(checkpointId);
    const info = this.model.loaded;
    if (!info) return;
    this.generationModel = info.label;
    if (info.trainingArgs) this.args.load(info.trainingArgs);
    await this.start();
  }

  /** A fresh worker, so a fresh device: a lost one never comes back. What the old worker held is loaded again. */
  async restartGpu(): Promise<void> {
    this.client.restart();
    this.generationModel = null;
    this.trainedUnsaved = false;
    await this.gpu.check();
    void this.tokenizer.update(this.data.files.map((f) => f.file));
    if (this.model.source === 'checkpoint' && this.model.checkpointId)
      await this.chooseCheckpoint(this.model.checkpointId);
    if (this.model.source === 'hub' && this.model.hub.kind === 'ready') await this.downloadFromHub();
  }

  /** After the page loads: a run that was in flight when the page went away, if it saved a checkpoint. */
  async findInterruptedRun(): Promise<void> {
    await this.checkpoints.refresh();
    const run = rememberedRun();
    if (!run || this.run.active) return;
    this.interrupted = this.#lastCheckpointOf(run, 'reload');
    if (!this.interrupted) forgetRun();
  }

  dismissInterrupted(): void {
    this.interrupted = null;
    forgetRun();
  }

  #lastCheckpointOf(run: string | null, reason: InterruptedRun['reason']): InterruptedRun | null {
    const last = this.checkpoints.entries
      .filter((c) => c.run === run && c.resumable)
      .sort((a, b) => (b.step ?? 0) - (a.step ?? 0))[0];
    return last ? { checkpoint: last, reason } : null;
  }

  async chooseCheckpoint(id: string | null): Promise<void> {
    await this.model.chooseCheckpoint(id);
    if (this.model.loaded) this.generationModel = this.model.loaded.label;
  }

  /** Makes a stored checkpoint the current model: the one to train and generate from. */
  async useCheckpoint(id: string): Promise<void> {
    if (this.run.active) return;
    this.model.source = 'checkpoint';
    await this.chooseCheckpoint(id);
  }

  /** Imports a zip or a folder's files and, unless a run holds the model, makes the checkpoint the current model. */
  async importCheckpoint(files: File[], from: 'model' | 'checkpoints'): Promise<void> {
    const id = await this.checkpoints.importFiles(files, from);
    if (id !== null) await this.useCheckpoint(id);
  }

  async downloadFromHub(): Promise<void> {
    await this.model.downloadFromHub();
    if (this.model.loaded) this.generationModel = this.model.loaded.label;
  }

  /** After a reload that allowed a new Hub mirror: the download the user asked for. */
  async continueHubDownload(): Promise<void> {
    const request = takePendingDownload();
    if (!request) return;
    this.model.source = 'hub';
    this.model.hubRepo = request.repo;
    this.model.hubEndpoint = request.endpoint;
    await this.downloadFromHub();
  }

  async generate(): Promise<void> {
    const g = this.generation;
    if (g.status === 'generating' || this.generateBlockers.length || g.parsed.problems.size) return;
    const o = g.parsed.options;
    const beams = o.do_sample ? 1 : o.num_beams;
    const count = o.do_sample || beams > 1 ? o.num_return_sequences : 1;
    const controller = new AbortController();
    this.#generation = controller;
    g.begin(count);
    try {
      const result = await this.client.call(
        'generate',
        {
          prompt: g.prompt,
          chat: g.chat,
          options: {
            max_new_tokens: o.max_new_tokens,
            do_sample: o.do_sample,
            temperature: o.temperature,
            top_k: o.top_k,
            top_p: o.top_p,
            repetition_penalty: o.repetition_penalty,
            num_return_sequences: count,
            num_beams: beams,
            seed: o.do_sample ? (o.seed ?? undefined) : undefined,
          },
        },
        { signal: controller.signal, onEvent: (e) => g.append(e.sequence, e.text) },
      );
      const m = result.metadata;
      const stopped = result.finishReasons.includes('aborted');
      const notes = [`${m.generatedTokens} tokens`];
      if (m.doSample) notes.push(`seed ${m.seed}`);
      else notes.push(beams > 1 ? `beam search, ${beams} beams` : 'greedy');
      if (m.decodeTokensPerSecond > 0) notes.push(`${m.decodeTokensPerSecond.toFixed(1)} tokens/s`);
      if (m.slidWindow) notes.push('the context filled n_positions and the window slid');
      if (m.unknownCharacters.length)
        notes.push(
          `not in the tokenizer's vocabulary, read as unknown: ${m.unknownCharacters.map((c) => `“${c}”`).join(' ')}`,
        );
      g.end(stopped ? 'stopped' : 'done', `${stopped ? 'Stopped: ' : ''}${notes.join(' · ')}`, result.scores);
    } catch (e) {
      const cancelled = e instanceof RequestError && e.code === 'cancelled';
      g.end(cancelled ? 'stopped' : 'failed', cancelled ? 'Stopped.' : e instanceof Error ? e.message : String(e));
    } finally {
      if (this.#generation === controller) this.#generation = null;
    }
  }

  stopGenerating(): void {
    this.#generation?.abort();
  }
}

/** Files to train on: those counted, or, for a resumed run (which may not need them), all but the refused. */
/** What load_best_model_at_end did, for the run's message; null when it did nothing. */
function bestModelMessage(best: BestModel | undefined): string | null {
  if (!best) return null;
  const which = `the best checkpoint, step ${best.step} (eval_loss ${best.eval_loss.toFixed(4)})`;
  return best.changed
    ? `Loaded ${which} into the model, as load_best_model_at_end asks: evaluation and generation use it, and its checkpoint is kept for export.`
    : `The last step was ${which}: the model keeps its weights (load_best_model_at_end).`;
}

function usableFiles(data: DataFiles, resuming: boolean): File[] {
  return (resuming ? data.files.filter((f) => f.status !== 'refused') : data.usable).map((f) => f.file);
}

/** "toy 2025-11-27 21:50:03": the run's checkpoints are named after it. */
function newRunName(model: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${model} ${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function rememberRun(run: string): void {
  try {
    localStorage.setItem(RUN_KEY, run);
  } catch {
    // storage off: a reload simply will not offer to resume
  }
}

function forgetRun(): void {
  try {
    localStorage.removeItem(RUN_KEY);
  } catch {
    // as above
  }
}

function rememberedRun(): string | null {
  try {
    return localStorage.getItem(RUN_KEY);
  } catch {
    return null;
  }
}
