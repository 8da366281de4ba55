// Models read from the checkpoint store or the Hugging Face Hub, kept on the CPU until a run or generation
// puts them on the GPU, and described for the page.
import { browserHubCache, loadFromHub } from '../core/checkpoint/hub.ts';
import type { HubProgress } from '../core/checkpoint/hub.ts';
import type { HearthCheckpoint } from '../core/checkpoint/hf_folder.ts';
import type { CheckpointStore } from '../core/checkpoint/store.ts';
import { parameterCount } from '../core/model/families/index.ts';
import { checkpointTokenizer } from '../core/train/run_setup.ts';
import { resumePointOf, type ResumePoint } from '../core/train/checkpointing.ts';
import type { Tokenizer } from '../core/tokenizer/types.ts';
import type { ModelInfo, ModelSource } from './protocol.ts';
import type { TokenizerRegistry } from './tokens.ts';

export interface LoadedModel {
  info: ModelInfo;
  checkpoint: HearthCheckpoint;
  tokenizer: Tokenizer;
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
  if (source.kind === 'checkpoint') {
    const summary = await store.summary(source.id);
    checkpoint = await store.load(source.id);
    label = summary.name;
    run = summary.run;
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
    resume = resumePointOf(checkpoint);
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
    step: checkpoint.training?.step ?? null,
    run,
    trainingArgs: resume?.args ?? null,
  };
  return { info, checkpoint, tokenizer };
}
