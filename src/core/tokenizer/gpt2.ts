// GPT-2's tokenizer, shipped with Hearth (assets/gpt2/tokenizer.json; see scripts/build_gpt2_tokenizer.ts
// for where it comes from) so that new models and pretrained GPT-2 need no download.
import { ByteLevelBpeTokenizer } from './bpe_tokenizer.ts';
import type { TokenizerJson } from './tokenizer_json.ts';

let loading: Promise<ByteLevelBpeTokenizer> | null = null;

/**
 * GPT-2's tokenizer (50,257 ids, <|endoftext|> = 50256). The 1.3 MB vocabulary is a separate
 * chunk in the browser bundle, loaded on first use.
 */
export function loadGpt2Tokenizer(): Promise<ByteLevelBpeTokenizer> {
  loading ??= import('../../../assets/gpt2/tokenizer.json', { with: { type: 'json' } })
    .then((m) => ByteLevelBpeTokenizer.fromJson((m as { default: TokenizerJson }).default))
    .catch((e) => {
      loading = null;
      throw e;
    });
  return loading;
}
