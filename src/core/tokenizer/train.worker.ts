// Worker entry for tokenizer training, so the page stays responsive while BPE counts and merges.
// Create it with trainTokenizerInWorker (./trainInWorker.ts).
import { handleTrainRequest, type TrainTokenizerReply, type TrainTokenizerRequest } from './trainWorkerProtocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.onmessage = (event: MessageEvent<TrainTokenizerRequest>) => {
  if (event.data?.kind === 'train') void handleTrainRequest(event.data, (reply: TrainTokenizerReply) => scope.postMessage(reply));
};
