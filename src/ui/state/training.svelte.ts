// A training run as the page sees it: its status and what the trainer has logged. The trainer's client (in
// the worker module) drives it through begin / log / evaluated / end; panels only read it.

/** One logged optimizer step, as issue 5's trainer reports it. */
export interface TrainLogEntry {
  step: number;
  epoch: number;
  loss: number;
  learning_rate: number;
  grad_norm: number;
  tokens_per_second: number;
  elapsed_s: number;
  eta_s: number;
}

export interface EvalLogEntry {
  step: number;
  eval_loss: number;
}

export type RunStatus = 'idle' | 'preparing' | 'running' | 'paused' | 'stopping' | 'stopped' | 'finished' | 'failed';

export class TrainRun {
  status = $state<RunStatus>('idle');
  totalSteps = $state(0);
  numEpochs = $state(0);
  // Appended to, never edited in place: no deep proxy over thousands of entries.
  logs = $state.raw<TrainLogEntry[]>([]);
  evals = $state.raw<EvalLogEntry[]>([]);
  /** why the run failed or stopped, in words */
  message = $state<string | null>(null);

  latest = $derived(this.logs.at(-1) ?? null);
  latestEval = $derived(this.evals.at(-1) ?? null);
  active = $derived(this.status === 'preparing' || this.status === 'running' || this.status === 'paused' || this.status === 'stopping');

  begin(totalSteps: number, numEpochs: number): void {
    this.status = 'running';
    this.totalSteps = totalSteps;
    this.numEpochs = numEpochs;
    this.logs = [];
    this.evals = [];
    this.message = null;
  }

  log(entry: TrainLogEntry): void {
    this.logs = [...this.logs, entry];
  }

  evaluated(entry: EvalLogEntry): void {
    this.evals = [...this.evals, entry];
  }

  end(status: 'stopped' | 'finished' | 'failed', message: string | null = null): void {
    this.status = status;
    this.message = message;
  }
}
