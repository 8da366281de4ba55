// Making a run's model and tokenizer from what a user picks: a preset (a new model) or a checkpoint (imported,
// downloaded or saved). Shared by the CLI and the page's worker.
import type { TokenizerFiles } from '../checkpoint/hf_folder.ts';
import { tokenizerFromHfFiles, type Tokenizer } from '../tokenizer/index.ts';

/** The tokenizer a checkpoint's files hold. */
export function tokenizerOf(files: TokenizerFiles): Tokenizer {
  return tokenizerFromHfFiles({
    tokenizerJson: files['tokenizer.json'],
    vocabJson: files['vocab.json'],
    mergesTxt: files['merges.txt'],
  });
}
