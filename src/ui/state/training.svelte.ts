// A training run as the page sees it: its status and what the trainer has logged. The workbench drives it from
// the worker's events (begin / step / log / evaluated / end); panels only read it.
import type { ErrorCode, EvalResult, LogEntry, RunStart, TrainerStatus } from '../../worker/client.ts';

/** What the loss chart keeps of an evaluation. */
type EvalLogEntry = Pick<EvalResult, 'step' | 'eval_loss'>;

/** The trainer's status, and 'preparing' while the worker loads the data and builds the model. */
type RunStatus = TrainerStatus | 'preparing';

export class TrainRun {
  status = $state<RunStatus>('idle');
  runName = $state<string | null>(null);
  modelLabel = $state<string | null>(null);
  totalSteps = $state(0);
  numEpochs = $state(0);
  /** the last step the GPU finished (between logged steps too) */
  step = $state(0);
  /** while the dataset loads: bytes read of all files */
  loading = $state<{ what: string; done: number; total: number } | null>(null);
  /** the run has started and its first step is not done: the GPU kernels compile on it, which takes a while */
  firstStepPending = $state(false);
  // Appended to, never edited in place: no deep proxy over thousands of entries.
  logs = $state.raw<LogEntry[]>([]);
  evals = $state.raw<EvalLogEntry[]>([]);
  /** files skipped or warned about while the dataset loaded */
  notes = $state.raw<string[]>([]);
  checkpointsSaved = $state(0);
  evalBlocks = $state(0);
  evaluating = $state(false);
  /** why the run failed or stopped, in words */
  message = $state<string | null>(null);
  failure = $state<ErrorCode | null>(null);

  latest = $derived(this.logs.at(-1) ?? null);
  latestEval = $derived(this.evals.at(-1) ?? null);
  active = $derived(
    this.status === 'preparing' || this.status === 'running' || this.status === 'paused' || this.status === 'stopping',
  );

  prepare(): void {
    this.status = 'preparing';
    this.loading = null;
    this.message = null;
    this.failure = null;
    this.logs = [];
    this.evals = [];
    this.notes = [];
    this.step = 0;
    this.totalSteps = 0;
    this.checkpointsSaved = 0;
  }

  begin(run: RunStart): void {
    this.status = 'running';
    this.loading = null;
    this.firstStepPending = true;
    this.runName = run.runName;
    this.modelLabel = run.modelLabel;
    this.totalSteps = run.totalSteps;
    this.numEpochs = Math.round((run.totalSteps / run.stepsPerEpoch) * 100) / 100;
    this.step = run.startStep;
    this.evalBlocks = run.evalBlocks;
    // A resumed run shows its curve so far.
    this.logs = run.history.filter((h): h is LogEntry => 'loss' in h);
    this.evals = run.history
      .filter((h): h is EvalResult => 'eval_loss' in h)
      .map((h) => ({ step: h.step, eval_loss: h.eval_loss }));
    this.notes = run.messages.map((m) => `${m.file}: ${m.message}`);
  }

  /** A step done (the worker reports them at most a few times a second). */
  stepped(step: number): void {
    this.step = Math.max(this.step, step);
    this.firstStepPending = false;
  }

  log(entry: LogEntry): void {
    this.firstStepPending = false;
    this.logs = [...this.logs, entry];
    this.step = Math.max(this.step, entry.step);
  }

  evaluated(entry: EvalLogEntry): void {
    this.evals = [...this.evals, entry];
  }

  end(
    status: 'stopped' | 'finished' | 'failed',
    message: string | null = null,
    failure: ErrorCode | null = null,
  ): void {
    this.status = status;
    this.message = message;
    this.failure = failure;
    this.loading = null;
    this.firstStepPending = false;
  }
}
