// Models read from the checkpoint store or the Hugging Face Hub, kept on the CPU until a run or generation
// puts them on the GPU, and described for the page.
import { browserHubCache, loadFromHub } from '../core/checkpoint/hub.ts';
import type { HubProgress } from '../core/checkpoint/hub.ts';
import type { HearthCheckpoint } from '../core/checkpoint/hf_folder.ts';
import type { AdapterBase, CheckpointStore } from '../core/checkpoint/store.ts';
import { CheckpointError } from '../core/checkpoint/errors.ts';
import type { PeftAdapter } from '../core/checkpoint/peft_adapter.ts';
import { loraResumeFromFiles } from '../core/train/lora_checkpoint.ts';
import { parameterCount } from '../core/model/families/index.ts';
import { checkpointTokenizer } from '../core/train/run_setup.ts';
import { resumePointOf, type ResumePoint } from '../core/train/checkpointing.ts';
import type { Tokenizer } from '../core/tokenizer/types.ts';
import type { ModelInfo, ModelSource } from './protocol.ts';
import type { TokenizerRegistry } from './tokens.ts';

export interface LoadedModel {
  info: ModelInfo;
  source: ModelSource;
  /** the model, or for a LoRA adapter its base */
  checkpoint: HearthCheckpoint;
  tokenizer: Tokenizer;
  /** a stored LoRA adapter: it runs on `checkpoint`, and resumes from `resume` */
  adapter?: { peft: PeftAdapter; base: AdapterBase; resume: ResumePoint | null };
}

/** A LoRA adapter's base, from the store or the Hub (its browser cache first). */
export async function loadBase(
  base: AdapterBase,
  store: CheckpointStore,
  signal: AbortSignal,
  onProgress?: (p: HubProgress) => void,
): Promise<HearthCheckpoint> {
  if (base.kind === 'hub')
    return loadFromHub(base.repo, { baseUrl: base.endpoint, cache: await browserHubCache(), signal, onProgress });
  if (!(await store.list()).some((c) => c.id === base.id))
    throw new CheckpointError(
      'not-found',
      `the adapter's base checkpoint "${base.name}" is no longer stored: the adapter cannot run without it`,
    );
  return store.load(base.id);
}

export function sourceKey(source: ModelSource): string {
  return source.kind === 'checkpoint' ? `checkpoint:${source.id}` : `hub:${source.endpoint ?? ''}:${source.repo}`;
}

export async function loadModel(
  source: ModelSource,
  store: CheckpointStore,
  tokenizers: TokenizerRegistry,
  onProgress: (p: HubProgress) => void,
  signal: AbortSignal,
): Promise<LoadedModel> {
  let checkpoint: HearthCheckpoint;
  let label: string;
  let run: string | null = null;
  let adapter: LoadedModel['adapter'];
  if (source.kind === 'checkpoint') {
    const summary = await store.summary(source.id);
    label = summary.name;
    run = summary.run;
    if (summary.adapter) {
      // The adapter's files are checked against its base before anything goes on the GPU.
      checkpoint = await loadBase(summary.adapter.base, store, signal, onProgress);
      const { adapter: peft, resume } = loraResumeFromFiles(await store.loadFiles(source.id), checkpoint.config);
      adapter = { peft, base: summary.adapter.base, resume };
    } else checkpoint = await store.load(source.id);
  } else {
    checkpoint = await loadFromHub(source.repo, {
      baseUrl: source.endpoint,
      cache: await browserHubCache(),
      signal,
      onProgress,
    });
    label = `${source.repo} (Hugging Face Hub)`;
  }
  const tokenizer = checkpointTokenizer(checkpoint);
  const tokenizerInfo = await tokenizers.register(tokenizer, `the model's own tokenizer (${tokenizer.summary.model})`);
  // A checkpoint whose training state cannot resume is still a model to fine-tune.
  let resume: ResumePoint | null;
  try {
    resume = adapter ? adapter.resume : resumePointOf(checkpoint);
  } catch {
    resume = null;
  }
  const info: ModelInfo = {
    key: sourceKey(source),
    label,
    dims: checkpoint.config,
    parameters: parameterCount(checkpoint.config),
    tokenizer: tokenizerInfo,
    resumable: resume !== null,
    step: adapter ? (adapter.resume?.state.step ?? null) : (checkpoint.training?.step ?? null),
    run,
    trainingArgs: resume?.args ?? null,
    ...(adapter ? { lora: { config: adapter.peft.config, base: adapter.base.name } } : {}),
  };
  return { info, source, checkpoint, tokenizer, ...(adapter ? { adapter } : {}) };
}
