// Messages between the page and the tokenizer-training worker, and the worker's handler (kept
// out of train_worker.ts so that tests can drive it without a Worker).
import { trainTokenizerOnSources } from '../data/train_tokenizer.ts';
import { sourceFromBlob } from '../data/sources.ts';
import type { FileMessage } from '../data/read_text.ts';
import type { TrainProgress } from './train_bpe.ts';
import type { TokenizerKind } from './types.ts';

export interface TrainTokenizerRequest {
  kind: 'train';
  id: number;
  tokenizer: TokenizerKind;
  /** BPE only */
  vocabSize?: number;
  /** Files (or Blobs with names) as dropped on the page; they are read in the worker as streams. */
  files: Blob[];
  names?: string[];
}

export type TrainTokenizerReply =
  | { kind: 'progress'; id: number; progress: TrainProgress }
  | { kind: 'message'; id: number; message: FileMessage }
  | { kind: 'done'; id: number; tokenizerJson: string }
  | { kind: 'error'; id: number; error: string };

export async function handleTrainRequest(
  request: TrainTokenizerRequest,
  post: (reply: TrainTokenizerReply) => void,
): Promise<void> {
  const { id } = request;
  try {
    const sources = request.files.map((f, i) => sourceFromBlob(f, request.names?.[i]));
    let lastPost = 0;
    const tokenizer = await trainTokenizerOnSources(sources, {
      kind: request.tokenizer,
      vocabSize: request.vocabSize,
      onProgress: (progress) => {
        // Progress comes per chunk and per merge; a few messages a second are enough for a bar.
        const now = Date.now();
        if (now - lastPost < 100 && progress.done < progress.total) return;
        lastPost = now;
        post({ kind: 'progress', id, progress });
      },
      onMessage: (message) => post({ kind: 'message', id, message }),
    });
    post({ kind: 'done', id, tokenizerJson: tokenizer.toTokenizerJson() });
  } catch (e) {
    post({ kind: 'error', id, error: (e as Error).message ?? String(e) });
  }
}
