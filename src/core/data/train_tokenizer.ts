// Trains a tokenizer on the user's files (BPE or characters), reading them as streams with
// progress. The browser runs this in a worker (src/core/tokenizer/train_worker.ts).
import { CharCollector } from '../tokenizer/char_tokenizer.ts';
import { PieceCounter, trainBpeFromCounts, type TrainProgress } from '../tokenizer/train_bpe.ts';
import type { Tokenizer, TokenizerKind } from '../tokenizer/types.ts';
import { fileErrorMessage, readTextChunks, type FileMessage } from './read_text.ts';
import type { TextSource } from './sources.ts';

export interface TrainTokenizerOptions {
  kind: TokenizerKind;
  /** BPE only: ids in the result, <|endoftext|> included */
  vocabSize?: number;
  /** counting: bytes read of all files; merging: merges made */
  onProgress?: (p: TrainProgress) => void;
  onMessage?: (m: FileMessage) => void;
}

export async function trainTokenizerOnSources(
  sources: readonly TextSource[],
  options: TrainTokenizerOptions,
): Promise<Tokenizer> {
  const total = sources.reduce((s, f) => s + f.size, 0);
  const pieces = new PieceCounter();
  const chars = new CharCollector();
  let before = 0;
  let usable = 0;
  for (const source of sources) {
    try {
      for await (const chunk of readTextChunks(source, {
        onBytes: (n) => options.onProgress?.({ phase: 'counting', done: before + n, total }),
        onMessage: options.onMessage,
      })) {
        if (options.kind === 'bpe') pieces.addChunk(chunk);
        else chars.add(chunk);
      }
      if (options.kind === 'bpe') pieces.endDocument();
      usable++;
    } catch (e) {
      options.onMessage?.(fileErrorMessage(source.name, e));
      if (options.kind === 'bpe') pieces.endDocument();
    }
    before += source.size;
  }
  if (usable === 0) throw new Error('No file could be read to train a tokenizer on.');
  if (options.kind === 'char') return chars.tokenizer();
  return trainBpeFromCounts(pieces.counts, { vocabSize: options.vocabSize ?? 4096, onProgress: options.onProgress });
}
