// Tokenizers for Hearth: any Hugging Face tokenizer.json of the BPE kinds causal LMs ship (the pipeline), GPT-2's
// byte-level BPE (shipped, and trained on the user's text; its own fast path) and characters. All run in a
// browser, a worker and Node.
import { ByteLevelBpeTokenizer, END_OF_TEXT } from './bpe_tokenizer.ts';
import { CharTokenizer } from './char_tokenizer.ts';
import { FileField, parseJsonObject } from './errors.ts';
import { PipelineTokenizer, type HfTokenizerFiles } from './pipeline_tokenizer.ts';
import { generationEosIds, readTokenizerConfig } from './tokenizer_config.ts';
import type { TokenizerJson } from './tokenizer_json.ts';
import type { Tokenizer } from './types.ts';

export type { StreamDecoder, Tokenizer, TokenizerKind } from './types.ts';
export { describeTokenizer } from './types.ts';
export { ByteLevelBpeTokenizer, END_OF_TEXT } from './bpe_tokenizer.ts';
export { CharTokenizer, CharCollector, charTokenizerFrom, UNKNOWN } from './char_tokenizer.ts';
export { PipelineTokenizer, type ChatMessage } from './pipeline_tokenizer.ts';
export { loadGpt2Tokenizer } from './gpt2.ts';
export { trainBpe, trainBpeFromCounts, PieceCounter, type TrainBpeOptions, type TrainProgress } from './train_bpe.ts';
export type { TokenizerJson } from './tokenizer_json.ts';

type Json = Record<string, unknown>;

/**
 * Whether a tokenizer.json is exactly GPT-2's scheme (byte-level BPE split by GPT-2's pattern, nothing else
 * around it), which ByteLevelBpeTokenizer encodes by its own fast path.
 */
function isGpt2Scheme(json: Json): boolean {
  const model = json.model as Json | undefined;
  const pre = json.pre_tokenizer as Json | null | undefined;
  const post = json.post_processor as Json | null | undefined;
  const decoder = json.decoder as Json | null | undefined;
  const added = (json.added_tokens ?? []) as Json[];
  return (
    !!model &&
    (model.type ?? 'BPE') === 'BPE' &&
    !model.byte_fallback &&
    !model.continuing_subword_prefix &&
    !model.end_of_word_suffix &&
    !model.ignore_merges &&
    !model.dropout &&
    !model.unk_token &&
    !json.normalizer &&
    pre?.type === 'ByteLevel' &&
    pre.add_prefix_space !== true &&
    pre.use_regex !== false &&
    (!post || post.type === 'ByteLevel') &&
    (!decoder || decoder.type === 'ByteLevel') &&
    Array.isArray(added) &&
    added.every((a) => a.special === true && !a.lstrip && !a.rstrip && !a.single_word) &&
    added.some((a) => a.content === END_OF_TEXT)
  );
}

/** Our character format: a WordLevel model over single code points (see charLevelJson). */
function isCharFormat(json: Json): boolean {
  const model = json.model as Json | undefined;
  const pre = json.pre_tokenizer as { type?: unknown; pattern?: { Regex?: unknown } } | null | undefined;
  return model?.type === 'WordLevel' && pre?.type === 'Split' && pre.pattern?.Regex === '[\\s\\S]';
}

/**
 * Reads a Hugging Face tokenizer.json: GPT-2's scheme by its fast path, our character format, and every other
 * supported kind through the pipeline. What cannot be read is refused with the file, the field and the reason.
 */
export function tokenizerFromJson(source: string | TokenizerJson): Tokenizer {
  return tokenizerFromHfFiles({ tokenizerJson: typeof source === 'string' ? source : JSON.stringify(source) });
}

export interface TokenizerFileTexts extends Partial<HfTokenizerFiles> {
  vocabJson?: string;
  mergesTxt?: string;
}

/**
 * A tokenizer from the files of a Hugging Face model folder: tokenizer.json (else vocab.json + merges.txt), with
 * tokenizer_config.json, special_tokens_map.json, chat_template.jinja and generation_config.json when present.
 */
export function tokenizerFromHfFiles(files: TokenizerFileTexts): Tokenizer {
  const eosTokenIds = generationEosIds(files.generationConfig);
  if (files.tokenizerJson === undefined) {
    if (files.vocabJson !== undefined && files.mergesTxt !== undefined)
      return ByteLevelBpeTokenizer.fromVocabAndMerges(files.vocabJson, files.mergesTxt);
    throw new Error('a tokenizer needs tokenizer.json, or vocab.json with merges.txt');
  }
  const json = parseJsonObject(files.tokenizerJson, 'tokenizer.json');
  const model = json.model as Json | undefined;
  if (model?.type === 'WordLevel') {
    if (!isCharFormat(json))
      throw new FileField('tokenizer.json', 'model.type').error(
        'the model "WordLevel" is not supported (Hearth reads BPE, and its own character WordLevel format)',
      );
    return CharTokenizer.fromJson(json as unknown as TokenizerJson);
  }
  const config = readTokenizerConfig(files);
  const plainConfig = (config.eosToken ?? END_OF_TEXT) === END_OF_TEXT && config.chatTemplate === null;
  if (isGpt2Scheme(json) && plainConfig)
    return ByteLevelBpeTokenizer.fromJson(json as unknown as TokenizerJson, files.tokenizerJson, { eosTokenIds });
  return PipelineTokenizer.fromFiles({ ...files, tokenizerJson: files.tokenizerJson });
}
