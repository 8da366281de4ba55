// The training loop, Hugging Face Trainer-style: steps of gradient_accumulation_steps micro-batches, AdamW with
// global-norm clipping, the learning-rate schedule, logging every logging_steps, evaluation and checkpoints on their
// own schedules, pause / resume / stop, and an exact resume from a checkpoint. It runs wherever the core runs (a
// worker in the browser, the main thread in Node); saving is the caller's (IndexedDB store or folders).
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal_lm.ts';
import type { NamedTensors } from '../model/host_tensors.ts';
import { adamwKindFor } from '../model/memory.ts';
import { BatchSampler, batchPositionProblem, type BatchPosition } from '../data/batches.ts';
import type { BlockDataset } from '../data/dataset.ts';
import { AdamW } from './optimizer.ts';
import { MixedPrecision } from './mixed_precision.ts';
import { initialLossScale, type LossScalerOptions, type LossScaleState } from './loss_scaler.ts';
import { lrLambda, warmupStepsFor } from './schedule.ts';
import type { TrainingArguments } from './args.ts';
import { evaluate, type EvalMetrics } from './evaluate.ts';
import { checkFits, type AdapterLimits } from './fits.ts';
import { stepSeed } from '../kernels/dropout/seeds.ts';
import { countTargets } from '../util/targets.ts';

export interface LogEntry {
  step: number;
  epoch: number;
  /** mean training loss over the steps since the last log */
  loss: number;
  learning_rate: number;
  grad_norm: number;
  tokens_per_second: number;
  elapsed_s: number;
  eta_s: number;
  /** with fp16: the loss scale after this step, and how many steps have been skipped for overflow so far */
  loss_scale?: number;
  skipped_steps?: number;
}

export interface EvalResult extends EvalMetrics {
  step: number;
  epoch: number;
}

/** Everything besides the weights that an exact resume needs; plain JSON. */
export interface TrainerState {
  step: number;
  epoch: number;
  dataPosition: BatchPosition;
  logHistory: (LogEntry | EvalResult)[];
  bestEvalLoss: number | null;
  lastEvalLoss: number | null;
  /** with fp16: the loss scaler's state (PyTorch keeps it in scaler.pt) */
  lossScale?: LossScaleState;
}

export interface TrainerSnapshot {
  state: TrainerState;
  args: TrainingArguments;
  weights: NamedTensors;
  optimizer: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> };
}

export interface TrainerCallbacks {
  onLog?(entry: LogEntry): void;
  onEval?(result: EvalResult): void;
  /** Saves a checkpoint; training waits for it. A throw stops training with that error. */
  onSave?(snapshot: TrainerSnapshot): Promise<void>;
  onStatus?(status: TrainerStatus): void;
  /**
   * After every optimizer step (its logging, evaluation and save done); training waits for it. A worker uses it to
   * let messages in between steps (pause, stop) and to keep the GPU queue close to the progress it shows.
   */
  onStep?(step: number): void | Promise<void>;
  /** A finished run with load_best_model_at_end: the best checkpoint's weights are now the model's. */
  onBestModelLoaded?(best: BestModel): void;
}

/** The checkpoint load_best_model_at_end loaded when training finished: its step and eval_loss. */
export interface BestModel {
  step: number;
  eval_loss: number;
  /** false when the best was the last step's, so the weights did not change */
  changed: boolean;
}

export type TrainerStatus = 'idle' | 'running' | 'paused' | 'stopping' | 'finished' | 'stopped' | 'failed';

export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    what: string,
  ) {
    super(
      `training stopped at step ${step}: the ${what} is not a finite number (the model diverged; try a lower learning_rate). The last checkpoint saved before this step is untouched.`,
    );
    this.name = 'TrainingDivergedError';
  }
}

export interface TrainerOptions {
  model: CausalLM;
  args: TrainingArguments;
  train: BlockDataset;
  eval?: BlockDataset | null;
  callbacks?: TrainerCallbacks;
  /** resume from here (weights must already be loaded into the model) */
  resume?: { state: TrainerState; optimizer: TrainerSnapshot['optimizer'] };
  /** adapter limits, to refuse a run whose buffers cannot exist on this device */
  limits?: AdapterLimits;
  /** with fp16: the loss scaler's settings (PyTorch's GradScaler defaults otherwise) */
  lossScaler?: Partial<LossScalerOptions>;
  now?: () => number;
}

/** The most steps whose fp16 learning rates go to the GPU as a table: 16 MiB, within every adapter's binding limit. */
const MAX_SCHEDULE_TABLE = 1 << 22;

export class Trainer {
  readonly model: CausalLM;
  readonly args: TrainingArguments;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly warmupSteps: number;
  private readonly train: BlockDataset;
  private readonly evalData: BlockDataset | null;
  private readonly callbacks: TrainerCallbacks;
  private readonly optimizer: AdamW;
  /** with fp16: f16 ops, the per-step f16 weights and the loss scaler */
  private readonly mixed: MixedPrecision | null = null;
  private readonly sampler: BatchSampler;
  private readonly now: () => number;
  private state: TrainerState;
  private statusValue: TrainerStatus = 'idle';
  private pauseGate: { promise: Promise<void>; release: () => void } | null = null;
  /** the loop waits at the pause, no step in flight */
  private waitingAtPause = false;
  private stopRequested = false;
  /**
   * With load_best_model_at_end, the weights of the best checkpoint saved so far (as Hugging Face, a checkpoint
   * whose step's evaluation was the best so far): the snapshot the save read back anyway, kept on the CPU.
   */
  private bestCheckpoint: { step: number; evalLoss: number; weights: NamedTensors } | null = null;
  /** what load_best_model_at_end loaded when the run finished; null before, or when there was nothing to load */
  bestModel: BestModel | null = null;

  constructor(o: TrainerOptions) {
    this.model = o.model;
    this.args = o.args;
    this.train = o.train;
    this.evalData = o.eval ?? null;
    this.callbacks = o.callbacks ?? {};
    this.now = o.now ?? (() => performance.now());
    const a = o.args;
    if (o.resume) {
      const problem = batchPositionProblem(o.resume.state.dataPosition, o.train.numBlocks);
      if (problem)
        throw new Error(
          `cannot resume: the checkpoint's data_position${problem} (hearth_state.json is damaged, or this is not the data it was trained on)`,
        );
    }
    if (a.block_size !== o.train.blockSize)
      throw new Error(`block_size ${a.block_size} differs from the dataset's blocks of ${o.train.blockSize} tokens`);
    const positions = o.model.sizes.max_position_embeddings;
    if (a.block_size > positions)
      throw new Error(`block_size: must not exceed the model's n_positions (${positions}), got ${a.block_size}`);
    checkFits(o.model, a, o.limits);
    // As Hugging Face: batches per epoch = ceil(blocks / batch), updates per epoch = that // accumulation (at least 1).
    const batchesPerEpoch = Math.ceil(o.train.numBlocks / a.per_device_train_batch_size);
    this.stepsPerEpoch = Math.max(1, Math.floor(batchesPerEpoch / a.gradient_accumulation_steps));
    this.totalSteps = a.max_steps > 0 ? a.max_steps : Math.ceil(a.num_train_epochs * this.stepsPerEpoch);
    this.warmupSteps = warmupStepsFor(this.totalSteps, a.warmup_steps, a.warmup_ratio);
    this.optimizer = new AdamW(o.model.trainable, {
      beta1: a.adam_beta1,
      beta2: a.adam_beta2,
      eps: a.adam_epsilon,
      weightDecay: a.weight_decay,
      maxGradNorm: a.max_grad_norm,
      // The packed update saves dozens of dispatches a step, which is what small models are bound by, but keeps two
      // more float32 copies of the weights (packed parameters and gradients): about 1 GB at GPT-2 124M, where the
      // step is bound by bandwidth and a 4 GB GPU has no such room. Loss scaling (fp16) runs on the packed path only.
      multiTensor: adamwKindFor(o.model.dims, a.fp16) === 'packed',
    });
    if (a.fp16) {
      // A resumed fp16 run restores its scaler; a run saved without fp16 starts one whose step count (AdamW's bias
      // correction) carries on from the optimizer's.
      const resumed = o.resume
        ? (o.resume.state.lossScale ?? initialLossScale(o.lossScaler, o.resume.optimizer.step))
        : undefined;
      this.mixed = new MixedPrecision(o.lossScaler, resumed);
      // The schedule as a table on the GPU, so a skipped update does not advance it (4 bytes a step; beyond
      // MAX_SCHEDULE_TABLE steps the rate is set from the CPU each step and skipped updates advance it).
      if (this.totalSteps <= MAX_SCHEDULE_TABLE) {
        this.mixed.setLearningRates(
          Float32Array.from({ length: Math.max(this.totalSteps, 1) }, (_, k) => this.learningRate(k)),
        );
      }
    }
    if (o.resume) {
      this.state = structuredClone(o.resume.state);
      this.optimizer.setState(o.resume.optimizer);
      this.sampler = new BatchSampler(o.train, a.per_device_train_batch_size, this.state.dataPosition);
    } else {
      this.sampler = new BatchSampler(o.train, a.per_device_train_batch_size, { seed: a.seed });
      this.state = {
        step: 0,
        epoch: 0,
        dataPosition: this.sampler.position,
        logHistory: [],
        bestEvalLoss: null,
        lastEvalLoss: null,
      };
    }
  }

  get status(): TrainerStatus {
    return this.statusValue;
  }

  get step(): number {
    return this.state.step;
  }

  get history(): readonly (LogEntry | EvalResult)[] {
    return this.state.logHistory;
  }

  private setStatus(s: TrainerStatus): void {
    this.statusValue = s;
    this.callbacks.onStatus?.(s);
  }

  pause(): void {
    if (this.statusValue !== 'running' || this.pauseGate) return;
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    this.pauseGate = { promise, release };
    this.setStatus('paused');
  }

  /** Paused, and the loop is waiting at the pause with no step in flight: the model can be read and saved now. */
  get atRest(): boolean {
    return this.waitingAtPause;
  }

  resume(): void {
    if (!this.pauseGate) return;
    this.pauseGate.release();
    this.pauseGate = null;
    this.setStatus('running');
  }

  /** Ends training after the step in flight (a paused run stops at once). */
  stop(): void {
    this.stopRequested = true;
    if (this.statusValue === 'running') this.setStatus('stopping');
    this.resume();
  }

  /** The learning rate for the update after `step` updates. */
  learningRate(step = this.state.step): number {
    return this.args.learning_rate * lrLambda(this.args.lr_scheduler_type, step, this.warmupSteps, this.totalSteps);
  }

  /**
   * One optimizer update over gradient_accumulation_steps micro-batches. Returns the step's loss (its summed token
   * loss over its counted targets) and the gradient norm as GPU scalars (not read here: reading inside a step would
   * stall the GPU queue).
   */
  trainStep(): { loss: tf.Scalar; gradNorm: tf.Scalar } {
    const accum = this.args.gradient_accumulation_steps;
    const B = this.args.per_device_train_batch_size;
    const T = this.args.block_size;
    // transformers' num_items_in_batch: every micro-batch's summed token loss is divided by the counted targets
    // of the whole step, so the accumulated gradients are those of one batch of all of them, however the −100
    // labels (padding, prompts) fall among the micro-batches. Summing the micro-batches then needs no further
    // division; with equal counts it is the mean of the micro-batch means.
    const batches = Array.from({ length: accum }, () => this.sampler.next());
    const numItemsInBatch = Math.max(
      1,
      batches.reduce((n, b) => n + countTargets(b.targets), 0),
    );
    let sum: Map<string, tf.Tensor> | null = null;
    let lossSum: tf.Scalar | null = null;
    for (const [k, batch] of batches.entries()) {
      const { loss, grads } = this.model.lossAndGrads(batch.inputs, batch.targets, B, T, {
        checkpoint: this.args.gradient_checkpointing,
        numItemsInBatch,
        // Dropout (at the model's rates) in training steps only; its masks follow from the seed, the step and the
        // micro-batch, so a resumed run draws the masks the uninterrupted run would have.
        dropoutSeed: stepSeed(this.args.seed, this.state.step, k),
        ...(this.mixed ? { ops: this.mixed.ops } : {}),
        // packed rows (bfd): each sequence at its own positions, attending within itself
        positionIds: batch.positionIds,
      });
      if (!sum) {
        sum = grads;
        lossSum = loss;
      } else {
        for (const [n, g] of grads) {
          const acc = sum.get(n)!;
          sum.set(n, tf.add(acc, g));
          tf.dispose([acc, g]);
        }
        const l = tf.add(lossSum!, loss) as tf.Scalar;
        tf.dispose([lossSum!, loss]);
        lossSum = l;
      }
    }
    // With fp16 the gradients carry the loss scale: the optimizer unscales them, or skips the update on overflow.
    // Its rate then comes from the schedule at the count of applied updates, so a skipped one does not advance it.
    const gradNorm = this.optimizer.apply(sum!, this.learningRate(), this.mixed?.scaler, this.mixed?.lrSchedule);
    this.mixed?.endStep();
    tf.dispose([...sum!.values()]);
    this.state.step++;
    this.state.dataPosition = this.sampler.position;
    this.state.epoch = this.state.step / this.stepsPerEpoch;
    return { loss: lossSum!, gradNorm };
  }

  /** eval_loss (mean next-token loss over every eval block) and perplexity = exp(eval_loss), at this step. */
  async evaluate(data: BlockDataset | null = this.evalData): Promise<EvalResult> {
    const metrics = await evaluate(this.model, data, this.args);
    return { step: this.state.step, epoch: this.state.epoch, ...metrics };
  }

  /** Runs until totalSteps, or until stop(). Resolves with the final status. */
  async trainLoop(): Promise<TrainerStatus> {
    const a = this.args;
    this.stopRequested = false;
    this.setStatus('running');
    if (a.load_best_model_at_end && !this.bestCheckpoint && this.evaluatedBestAt(this.state.step)) {
      // Resumed from the best checkpoint: the model holds its weights now.
      this.bestCheckpoint = {
        step: this.state.step,
        evalLoss: this.state.bestEvalLoss!,
        weights: await this.model.toArrays(),
      };
    }
    const tokensPerStep = a.per_device_train_batch_size * a.block_size * a.gradient_accumulation_steps;
    const evalEvery =
      a.eval_strategy === 'steps'
        ? (a.eval_steps ?? a.logging_steps)
        : a.eval_strategy === 'epoch'
          ? this.stepsPerEpoch
          : 0;
    const saveEvery = a.save_strategy === 'steps' ? a.save_steps : a.save_strategy === 'epoch' ? this.stepsPerEpoch : 0;
    const startStep = this.state.step;
    const t0 = this.now();
    let windowStart = t0;
    let windowSteps = 0;
    let lossAcc: tf.Scalar | null = null;
    let lastNorm: tf.Scalar | null = null;
    let lastLr: number;
    try {
      while (this.state.step < this.totalSteps && !this.stopRequested) {
        if (this.pauseGate) {
          this.waitingAtPause = true;
          try {
            await this.pauseGate.promise;
          } finally {
            this.waitingAtPause = false;
          }
          if (this.stopRequested) break;
          windowStart = this.now();
        }
        lastLr = this.learningRate();
        await this.sampler.prefetch(a.gradient_accumulation_steps); // blocks read from the token cache
        const { loss, gradNorm } = this.trainStep();
        const acc: tf.Scalar = lossAcc ? (tf.add(lossAcc, loss) as tf.Scalar) : loss;
        if (lossAcc) tf.dispose([lossAcc, loss]);
        lossAcc = acc;
        lastNorm?.dispose();
        lastNorm = gradNorm;
        windowSteps++;
        const step = this.state.step;
        const last = step === this.totalSteps;
        if (step % a.logging_steps === 0 || last || this.stopRequested) {
          // With fp16 the scaler's state is read at the same point (no extra wait inside a step).
          const [lossSum, norm, scaling] = await Promise.all([
            lossAcc.data(),
            lastNorm.data(),
            this.mixed?.scaler.read(),
          ]);
          const meanLoss = lossSum[0] / windowSteps;
          if (!Number.isFinite(meanLoss)) throw new TrainingDivergedError(step, 'training loss');
          // An overflow that fp16's loss scaler caught (and skipped) is not a divergence.
          if (!Number.isFinite(norm[0]) && !scaling?.foundInf) throw new TrainingDivergedError(step, 'gradient norm');
          const now = this.now();
          const elapsed = (now - t0) / 1000;
          const rate = (step - startStep) / Math.max(elapsed, 1e-9);
          const entry: LogEntry = {
            step,
            epoch: this.state.epoch,
            loss: meanLoss,
            // With fp16, the rate of the last update that ran (the next one's, if this one was skipped).
            learning_rate: scaling
              ? this.learningRate(Math.max(0, scaling.appliedSteps - (scaling.foundInf ? 0 : 1)))
              : lastLr,
            grad_norm: norm[0],
            ...(scaling ? { loss_scale: scaling.scale, skipped_steps: scaling.skippedSteps } : {}),
            tokens_per_second: (windowSteps * tokensPerStep) / Math.max((now - windowStart) / 1000, 1e-9),
            elapsed_s: elapsed,
            eta_s: (this.totalSteps - step) / Math.max(rate, 1e-9),
          };
          this.state.logHistory.push(entry);
          this.callbacks.onLog?.(entry);
          lossAcc.dispose();
          lossAcc = null;
          windowSteps = 0;
          windowStart = this.now();
        }
        if (evalEvery && this.evalData && (step % evalEvery === 0 || last)) {
          const r = await this.evaluate();
          if (!Number.isFinite(r.eval_loss)) throw new TrainingDivergedError(step, 'evaluation loss');
          this.state.lastEvalLoss = r.eval_loss;
          if (this.state.bestEvalLoss === null || r.eval_loss < this.state.bestEvalLoss)
            this.state.bestEvalLoss = r.eval_loss;
          this.state.logHistory.push(r);
          this.callbacks.onEval?.(r);
        }
        if (saveEvery && this.callbacks.onSave && (step % saveEvery === 0 || last)) {
          await this.save();
        }
        await this.callbacks.onStep?.(step);
      }
      const stopped = this.stopRequested && this.state.step < this.totalSteps;
      // A stopped run may be resumed, so its model keeps the weights its optimizer state belongs to.
      if (!stopped && a.load_best_model_at_end) await this.loadBestModel();
      this.setStatus(stopped ? 'stopped' : 'finished');
      return this.statusValue;
    } catch (e) {
      this.setStatus('failed');
      throw e;
    } finally {
      tf.dispose([lossAcc, lastNorm].filter((t): t is tf.Scalar => t !== null));
    }
  }

  /** A copy of everything a checkpoint holds, read back from the GPU. */
  async snapshot(): Promise<TrainerSnapshot> {
    const state = structuredClone(this.state);
    const optimizer = await this.optimizer.getState();
    if (this.mixed) {
      state.lossScale = await this.mixed.scaler.read();
      // AdamW's own count includes the skipped steps; what its moments have seen is the applied ones.
      optimizer.step = state.lossScale.appliedSteps;
    } else {
      delete state.lossScale; // from an fp16 run this one resumed without fp16
    }
    return { state, args: { ...this.args }, weights: await this.model.toArrays(), optimizer };
  }

  /** Hands a snapshot to onSave, refusing to save weights that are no longer finite. */
  async save(): Promise<void> {
    if (!this.callbacks.onSave) return;
    const snap = await this.snapshot();
    for (const [name, t] of snap.weights) {
      for (let i = 0; i < t.data.length; i++) {
        if (!Number.isFinite(t.data[i])) throw new TrainingDivergedError(this.state.step, `weight ${name}`);
      }
    }
    if (this.args.load_best_model_at_end && this.evaluatedBestAt(this.state.step)) {
      this.bestCheckpoint = { step: this.state.step, evalLoss: this.state.bestEvalLoss!, weights: snap.weights };
    }
    await this.callbacks.onSave(snap);
  }

  /** Whether the evaluation at `step` gave the best eval_loss so far (the first to reach it: a tie is no better). */
  private evaluatedBestAt(step: number): boolean {
    const best = this.state.logHistory.find(
      (e): e is EvalResult => 'eval_loss' in e && e.eval_loss === this.state.bestEvalLoss,
    );
    return best?.step === step;
  }

  /** Hugging Face's load_best_model_at_end: the best checkpoint's weights into the model. */
  private async loadBestModel(): Promise<void> {
    const best = this.bestCheckpoint;
    if (!best) return;
    const changed = best.step !== this.state.step;
    if (changed) {
      for (const [name, v] of this.model.trainable) {
        const t = tf.tensor(best.weights.get(name)!.data, v.shape);
        v.assign(t);
        t.dispose();
      }
    }
    this.bestModel = { step: best.step, eval_loss: best.evalLoss, changed };
    this.callbacks.onBestModelLoaded?.(this.bestModel);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.mixed?.dispose();
  }
}
