// Tokenizers for Hearth: GPT-2's byte-level BPE (shipped), BPE trained on the user's text, and
// characters. All run in a browser, a worker and Node.
import { ByteLevelBpeTokenizer } from './bpe_tokenizer.ts';
import { CharTokenizer } from './char_tokenizer.ts';
import type { TokenizerJson } from './tokenizer_json.ts';
import type { Tokenizer } from './types.ts';

export type { StreamDecoder, Tokenizer, TokenizerKind } from './types.ts';
export { ByteLevelBpeTokenizer, END_OF_TEXT } from './bpe_tokenizer.ts';
export { CharTokenizer, CharCollector, charTokenizerFrom, UNKNOWN } from './char_tokenizer.ts';
export { loadGpt2Tokenizer } from './gpt2.ts';
export { trainBpe, trainBpeFromCounts, PieceCounter, type TrainBpeOptions, type TrainProgress } from './train_bpe.ts';
export type { TokenizerJson } from './tokenizer_json.ts';

/**
 * Reads a Hugging Face tokenizer.json: a byte-level BPE (GPT-2's kind, ours trained) or our
 * character format (a WordLevel model over code points). Other kinds are refused by name.
 */
export function tokenizerFromJson(source: string | TokenizerJson): Tokenizer {
  const json: TokenizerJson = typeof source === 'string' ? JSON.parse(source) : source;
  const type = json.model?.type ?? (json.model?.merges ? 'BPE' : undefined);
  if (type === 'BPE') {
    if (json.pre_tokenizer?.type !== 'ByteLevel')
      throw new Error(
        `only byte-level BPE is supported (this one pre-tokenizes with ${json.pre_tokenizer?.type ?? 'nothing'})`,
      );
    return ByteLevelBpeTokenizer.fromJson(json, typeof source === 'string' ? source : undefined);
  }
  if (type === 'WordLevel') return CharTokenizer.fromJson(json);
  throw new Error(`unsupported tokenizer.json model: ${type ?? 'none'}`);
}

/** A tokenizer from the files of a Hugging Face model folder: tokenizer.json, else vocab.json + merges.txt. */
export function tokenizerFromHfFiles(files: {
  tokenizerJson?: string;
  vocabJson?: string;
  mergesTxt?: string;
}): Tokenizer {
  if (files.tokenizerJson !== undefined) return tokenizerFromJson(files.tokenizerJson);
  if (files.vocabJson !== undefined && files.mergesTxt !== undefined)
    return ByteLevelBpeTokenizer.fromVocabAndMerges(files.vocabJson, files.mergesTxt);
  throw new Error('a tokenizer needs tokenizer.json, or vocab.json with merges.txt');
}
