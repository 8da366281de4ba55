// The tokenizer a checkpoint's files hold, for every user of a checkpoint: training, generation and GGUF export.
import { tokenizerFromHfFiles, type Tokenizer } from '../tokenizer/index.ts';
import { PipelineTokenizer } from '../tokenizer/pipeline_tokenizer.ts';
import { EMPTY_CONFIG } from '../tokenizer/tokenizer_config.ts';
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

/**
 * The files a checkpoint keeps its tokenizer in, as save_pretrained writes them: tokenizer.json, and for a tokenizer
 * read with a tokenizer_config.json, that file again (special tokens, switches, the chat template), with
 * special_tokens_map.json and chat_template.jinja beside it, so a fine-tuned chat model keeps its template.
 */
export function tokenizerFiles(tokenizer: Tokenizer): TokenizerFiles {
  const files: TokenizerFiles = { 'tokenizer.json': tokenizer.toTokenizerJson() };
  if (!(tokenizer instanceof PipelineTokenizer) || tokenizer.config === EMPTY_CONFIG) return files;
  const c = tokenizer.config;
  const special: Record<string, unknown> = {};
  for (const [key, value] of [
    ['bos_token', c.bosToken],
    ['eos_token', c.eosToken],
    ['pad_token', c.padToken],
    ['unk_token', c.unkToken],
  ] as const)
    if (value !== null) special[key] = value;
  if (c.additionalSpecialTokens.length) special.additional_special_tokens = c.additionalSpecialTokens;
  const config: Record<string, unknown> = {
    ...(c.addBosToken !== undefined ? { add_bos_token: c.addBosToken } : {}),
    ...(c.addEosToken !== undefined ? { add_eos_token: c.addEosToken } : {}),
    ...special,
    // transformers writes this number for "no limit"
    model_max_length: c.modelMaxLength ?? 1000000000000000019884624838656,
    clean_up_tokenization_spaces: c.cleanUpTokenizationSpaces,
    tokenizer_class: c.tokenizerClass ?? 'PreTrainedTokenizerFast',
    ...(c.chatTemplate !== null ? { chat_template: c.chatTemplate } : {}),
  };
  files['tokenizer_config.json'] = JSON.stringify(config, null, 2) + '\n';
  files['special_tokens_map.json'] = JSON.stringify(special, null, 2) + '\n';
  if (c.chatTemplate !== null) files['chat_template.jinja'] = c.chatTemplate;
  return files;
}
