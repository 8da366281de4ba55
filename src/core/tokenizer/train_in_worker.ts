// The page's side of tokenizer training: one worker per training, ended when it is done.
import { tokenizerFromJson } from './index.ts';
import trainWorkerUrl from './train_worker.ts?worker&url';
import { startModuleWorker } from '../util/module_worker.ts';
import type { FileMessage } from '../data/read_text.ts';
import type { TrainProgress } from './train_bpe.ts';
import type { TrainTokenizerReply, TrainTokenizerRequest } from './train_worker_protocol.ts';
import type { Tokenizer, TokenizerKind } from './types.ts';

export interface TrainInWorkerOptions {
  kind: TokenizerKind;
  vocabSize?: number;
  onProgress?: (p: TrainProgress) => void;
  onMessage?: (m: FileMessage) => void;
  signal?: AbortSignal;
}

export function trainTokenizerInWorker(files: File[], options: TrainInWorkerOptions): Promise<Tokenizer> {
  const worker = startModuleWorker(trainWorkerUrl, { name: 'hearth-tokenizer-training' });
  return new Promise<Tokenizer>((resolve, reject) => {
    const finish = () => worker.terminate();
    options.signal?.addEventListener('abort', () => {
      finish();
      reject(new DOMException('tokenizer training was cancelled', 'AbortError'));
    });
    worker.onerror = (e) => {
      finish();
      reject(new Error(`tokenizer worker failed: ${e.message}`));
    };
    worker.onmessage = (event: MessageEvent<TrainTokenizerReply>) => {
      const reply = event.data;
      if (reply.kind === 'progress') options.onProgress?.(reply.progress);
      else if (reply.kind === 'message') options.onMessage?.(reply.message);
      else if (reply.kind === 'error') {
        finish();
        reject(new Error(reply.error));
      } else {
        finish();
        resolve(tokenizerFromJson(reply.tokenizerJson));
      }
    };
    const request: TrainTokenizerRequest = {
      kind: 'train',
      id: 1,
      tokenizer: options.kind,
      vocabSize: options.vocabSize,
      files,
      names: files.map((f) => f.name),
    };
    worker.postMessage(request);
  });
}
