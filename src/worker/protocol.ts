// Messages between the page and the engine worker. Every message is `{ kind, id, payload }`: the page sends a
// request of one of the kinds in `Requests`; the worker answers it with any number of `event`s, then one
// `result` or one `error` under the same id. A lost GPU is announced once, unasked, as `deviceLost`.
import type { ModelDims } from '../core/model/families/index.ts';
import type { MemoryEstimate } from '../core/model/memory.ts';
import type { CheckpointSummary } from '../core/checkpoint/store.ts';
import type { HubProgress } from '../core/checkpoint/hub.ts';
import type { TrainingArguments } from '../core/train/args.ts';
import type { LoraConfig } from '../core/model/lora/config.ts';
import type { BestModel, EvalResult, LogEntry, TrainerStatus } from '../core/train/trainer.ts';

/** What a training run reports to the page, as the trainer makes it. */
export type { BestModel, EvalResult, LogEntry, TrainerStatus };
import type { GenerationOptions } from '../core/generate/options.ts';
import type { GenerationMetadata, TokenEvent } from '../core/generate/generate.ts';
import type { FinishReason } from '../core/generate/stopping.ts';
import type { TokenizerKind, TokenizerSummary } from '../core/tokenizer/types.ts';

export interface GpuSummary {
  /** the adapter as people know it */
  name: string;
  /** describeGpu's one line */
  summary: string;
  software: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface TokenizerInfo {
  /** how later requests name this tokenizer */
  key: string;
  kind: TokenizerKind;
  vocabSize: number;
  eosTokenId: number;
  /** "GPT-2's tokenizer", "characters (83)", ... */
  label: string;
  /** what it is: kind, vocabulary size, special tokens */
  summary: TokenizerSummary;
}

/** The key of GPT-2's shipped tokenizer, which every worker knows. */
export const GPT2_TOKENIZER_KEY = 'gpt2';

/** A tokenizer for new models: GPT-2's shipped one, or one trained on the page (as its tokenizer.json). */
export type TokenizerSpec = { kind: 'gpt2' } | { kind: 'json'; json: string; label: string };

/** A model read from somewhere other than a preset: the checkpoint store or the Hugging Face Hub. */
export type ModelSource = { kind: 'checkpoint'; id: string } | { kind: 'hub'; repo: string; endpoint?: string };

export interface ModelInfo {
  /** names this loaded model in a train request */
  key: string;
  label: string;
  dims: ModelDims;
  parameters: number;
  tokenizer: TokenizerInfo;
  /** the checkpoint holds optimizer state and a data position: training can continue exactly */
  resumable: boolean;
  step: number | null;
  /** the training run the checkpoint came from */
  run: string | null;
  /** the arguments it was trained with, when it can resume */
  trainingArgs: TrainingArguments | null;
  /** a LoRA adapter's checkpoint: its config and its base's name (generation runs base and adapter) */
  lora?: { config: LoraConfig; base: string };
}

export type TrainModel =
  /** a new model; dropout is its embd_pdrop, attn_pdrop and resid_pdrop (0.1, HF's default, when absent) */
  | { kind: 'preset'; presetId: string; tokenizer: string; dropout?: number }
  /** fine-tune a loaded checkpoint or Hub model: its weights, a fresh optimizer */
  | { kind: 'loaded'; key: string }
  /** continue a stored checkpoint exactly (weights, AdamW moments, step, data position) */
  | { kind: 'resume'; checkpointId: string };

/**
 * TRL's SFTConfig fields the page sets, for record files (.jsonl, .json, .csv, .tsv, .parquet); the rest take TRL's
 * defaults. dataset_text_field also picks a CSV's or Parquet file's text column.
 */
export interface SftOptions {
  dataset_text_field: string;
  /** null: TRL's 1024, at most the model's positions */
  max_length: number | null;
  /** TRL's packing, with its default "bfd" strategy (padding-free: each example attends within itself) */
  packing: boolean;
  assistant_only_loss: boolean;
  /** null: TRL's default (true for prompt-completion records) */
  completion_only_loss: boolean | null;
}

/** A row as the model sees it: runs of decoded tokens, each counting for the loss or not (label −100). */
export interface SftPreviewRow {
  pieces: { text: string; counts: boolean }[];
  tokens: number;
  /** tokens shown that count for the loss */
  counted: number;
  /** the row is longer than what is shown */
  cut: boolean;
}

/** A record file prepared as a run will prepare it. */
export interface SftFileReport {
  records: number;
  examples: number;
  tokens: number;
  /** examples cut to max_length, and the tokens cut off */
  truncated: number;
  truncatedTokens: number;
  /** examples left out: nothing that counts for the loss was left after the cut */
  dropped: number;
  cached: boolean;
  /** the rows' length for this file alone */
  rowLength: number;
  /** records skipped or noted, in words */
  messages: string[];
  /** the first rows */
  preview: SftPreviewRow[];
}

export interface TrainRequest {
  /** checkpoints of this run share it, and save_total_limit rotates within it; a resumed run keeps its own */
  runName: string;
  model: TrainModel;
  args: TrainingArguments;
  /**
   * train a LoRA adapter (PEFT's LoraConfig) on the frozen model instead of the model itself: for a loaded model
   * only (a resumed or loaded adapter keeps its own config)
   */
  lora?: LoraConfig | null;
  /**
   * Dropped files. A resumed run without files trains on the tokens its run stored when it began. Record files
   * make fine-tuning examples as TRL's SFTTrainer does, with `sft`'s options; their rows set block_size.
   */
  data: { files: File[]; evalFiles: File[]; evalFraction: number; sft?: SftOptions };
}

export interface RunStart {
  runName: string;
  modelLabel: string;
  totalSteps: number;
  stepsPerEpoch: number;
  /** > 0 when the run continues a checkpoint */
  startStep: number;
  trainBlocks: number;
  evalBlocks: number;
  memory: MemoryEstimate;
  /** what the run logged before this start (a resumed run's curve so far) */
  history: (LogEntry | EvalResult)[];
  /** files skipped or warned about while the dataset loaded */
  messages: { file: string; level: 'error' | 'warning'; message: string }[];
}

export type TrainEvent =
  | { kind: 'loading'; what: string; done: number; total: number }
  | { kind: 'started'; run: RunStart }
  | { kind: 'step'; step: number }
  | { kind: 'log'; entry: LogEntry }
  | { kind: 'eval'; result: EvalResult }
  | { kind: 'status'; status: TrainerStatus }
  | { kind: 'saved'; checkpoint: CheckpointSummary };

export type CountEvent = { kind: 'bytes'; done: number } | { kind: 'warning'; message: string };

export interface GenerateResult {
  metadata: GenerationMetadata;
  finishReasons: FinishReason[];
  /** beam search: each sequence's score, best first; empty otherwise */
  scores: number[];
}

/** Every request kind: what it carries, what it answers, and the events it may send before answering. */
export interface Requests {
  init: { payload: Record<string, never>; result: GpuSummary; event: never };
  useTokenizer: { payload: { spec: TokenizerSpec }; result: TokenizerInfo; event: never };
  countTokens: {
    payload: { file: File; tokenizer: string };
    result: { tokens: number; cached: boolean };
    event: CountEvent;
  };
  /**
   * A record file made into fine-tuning examples: its counts and first rows. newModel: the run trains a new model
   * (whose tokenizer gets a chat template when it has none); positions: the model's, which bound max_length.
   */
  prepareSft: {
    payload: { file: File; tokenizer: string; newModel: boolean; positions: number; options: SftOptions };
    result: SftFileReport;
    event: CountEvent;
  };
  loadModel: { payload: { source: ModelSource }; result: ModelInfo; event: HubProgress };
  /** bestModel: the checkpoint load_best_model_at_end loaded into the model when the run finished */
  train: {
    payload: TrainRequest;
    result: { status: TrainerStatus; step: number; bestModel?: BestModel };
    event: TrainEvent;
  };
  /** save: a checkpoint of the run's model as it is now (after the step in flight), unless it has one */
  control: { payload: { action: 'pause' | 'resume' | 'stop' | 'save' }; result: null; event: never };
  evaluate: { payload: Record<string, never>; result: EvalResult; event: never };
  /** chat: the prompt is a user message, rendered by the model's chat template; the reply ends at its end of turn */
  generate: {
    payload: { prompt: string; options: GenerationOptions; chat?: boolean };
    result: GenerateResult;
    event: TokenEvent;
  };
  /** ends the request `target` (a download, a generation, a count) as soon as it can */
  cancel: { payload: { target: number }; result: null; event: never };
  /** destroys the device, as a driver reset would: how the tests check that a lost GPU is handled */
  loseDevice: { payload: Record<string, never>; result: null; event: never };
}

export type RequestKind = keyof Requests;

export type RequestMessage = {
  [K in RequestKind]: { kind: K; id: number; payload: Requests[K]['payload'] };
}[RequestKind];

export type ErrorCode =
  | 'no-webgpu'
  | 'device-lost'
  | 'cancelled'
  | 'refused' // a file that is not usable text
  | 'no-data'
  | 'invalid-argument'
  | 'does-not-fit'
  | 'diverged' // NaN or infinite loss
  | 'busy'
  | 'no-model'
  | 'checkpoint'
  | 'failed';

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
}

export type ReplyMessage =
  | { kind: 'event'; id: number; payload: unknown }
  | { kind: 'result'; id: number; payload: unknown }
  | { kind: 'error'; id: number; payload: ErrorPayload }
  | { kind: 'deviceLost'; id: 0; payload: { message: string } };

/** An error with a code the page can branch on; it crosses the worker boundary as an `error` message. */
export class EngineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}
