// Worker entry for tokenizer training, so the page stays responsive while BPE counts and merges.
// Create it with trainTokenizerInWorker (./train_in_worker.ts).
import { handleTrainRequest, type TrainTokenizerReply, type TrainTokenizerRequest } from './train_worker_protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.onmessage = (event: MessageEvent<TrainTokenizerRequest>) => {
  if (event.data?.kind === 'train')
    void handleTrainRequest(event.data, (reply: TrainTokenizerReply) => scope.postMessage(reply));
};
