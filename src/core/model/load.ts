// Making a model and its tokenizer from what a user picks: a preset (new model) or a checkpoint (imported,
// downloaded or saved). Shared by the CLI and the page's worker.
import { makeGpt2Config, type GenerationConfig, type GPT2Config } from '../checkpoint/config.ts';
import type { HearthCheckpoint, TokenizerFiles } from '../checkpoint/hf_folder.ts';
import { tokenizerFromHfFiles, type Tokenizer } from '../tokenizer/index.ts';
import { DEFAULT_DROPOUT, presetDims } from './config.ts';
import { GPT } from './gpt.ts';

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
 * A new model's config: the preset's shape, the tokenizer's vocabulary and end-of-text id, and `dropout` as its
 * embd_pdrop, attn_pdrop and resid_pdrop (Hugging Face's GPT2Config default, 0.1, unless given).
 */
export function presetConfig(presetId: string, tokenizer: Tokenizer, dropout = DEFAULT_DROPOUT): GPT2Config {
  const d = presetDims(presetId, tokenizer.vocabSize);
  if (d.vocab_size < tokenizer.vocabSize) {
    throw new Error(
      `preset '${presetId}' has ${d.vocab_size} token embeddings, fewer than the tokenizer's ${tokenizer.vocabSize} ids`,
    );
  }
  return makeGpt2Config({
    vocab_size: d.vocab_size,
    n_positions: d.n_positions,
    n_embd: d.n_embd,
    n_layer: d.n_layer,
    n_head: d.n_head,
    layer_norm_epsilon: d.layer_norm_epsilon,
    embd_pdrop: dropout,
    attn_pdrop: dropout,
    resid_pdrop: dropout,
    bos_token_id: tokenizer.eosTokenId,
    eos_token_id: tokenizer.eosTokenId,
  });
}

export function modelFromCheckpoint(ckpt: HearthCheckpoint): GPT {
  return GPT.fromArrays(ckpt.config, ckpt.weights);
}
