// The tokenizer a checkpoint's files hold, for every user of a checkpoint: training, generation and GGUF export.
import { tokenizerFromHfFiles, type Tokenizer } from '../tokenizer/index.ts';
import type { GenerationConfig } from './config.ts';
import type { TokenizerFiles } from './hf_folder.ts';

/** The tokenizer a checkpoint's files hold; generation_config.json's eos_token_id lists where generation stops. */
export function tokenizerOf(files: TokenizerFiles, generationConfig?: GenerationConfig): Tokenizer {
  return tokenizerFromHfFiles({
    tokenizerJson: files['tokenizer.json'],
    vocabJson: files['vocab.json'],
    mergesTxt: files['merges.txt'],
    tokenizerConfig: files['tokenizer_config.json'],
    specialTokensMap: files['special_tokens_map.json'],
    chatTemplate: files['chat_template.jinja'],
    generationConfig,
  });
}
