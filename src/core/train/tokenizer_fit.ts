// Whether a tokenizer can feed a model: every id it can produce (its vocabulary, added and special tokens, and the
// end-of-text ids generation stops at) must have a row in the model's embedding. Checked when a model and its
// tokenizer are loaded, so a mismatch is named there and not at the first loss as a target outside the vocabulary.
import type { TokenizerFiles } from '../checkpoint/hf_folder.ts';
import { sizesOf, type ModelDims } from '../model/families/index.ts';
import type { Tokenizer } from '../tokenizer/types.ts';

/** The file a checkpoint's tokenizer is read from, for messages. */
export function tokenizerFileName(files: TokenizerFiles): string {
  return files['tokenizer.json'] !== undefined ? 'tokenizer.json' : 'vocab.json';
}

/** Throws, naming the tokenizer's file and both sizes, when the tokenizer can produce an id the model lacks. */
export function checkTokenizerFitsModel(tokenizer: Tokenizer, dims: ModelDims, tokenizerFile: string): void {
  const vocabSize = sizesOf(dims).vocab_size;
  if (tokenizer.vocabSize > vocabSize)
    throw new Error(
      `${tokenizerFile} has ${tokenizer.vocabSize} tokens but the model (config.json) has vocab_size ${vocabSize}: ids from ${vocabSize} on have no embedding, so this tokenizer does not belong to this model`,
    );
  const special = [...tokenizer.specialTokenIds, ...tokenizer.eosTokenIds, tokenizer.eosTokenId];
  const beyond = special.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocabSize));
  if (beyond !== undefined)
    throw new Error(
      `${tokenizerFile} (with generation_config.json's eos_token_id) names the special token id ${beyond}, but the model (config.json) has vocab_size ${vocabSize} (ids 0 to ${vocabSize - 1})`,
    );
}
