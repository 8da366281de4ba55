// How a Hugging Face tokenizer.json splits text, as the name llama.cpp gives that split (tokenizer.ggml.pre), and
// whether a SentencePiece-style one prefixes a space.
//
// llama.cpp's converter names the pre-tokenizer by hashing the ids a tokenizer gives a fixed text
// (get_vocab_base_pre's chkhsh table), which needs the model's exact vocabulary. Hearth names it by what
// tokenizer.json says instead: its pre_tokenizer's structure and split pattern, recognised for the pre-tokenizers
// llama.cpp runs the same way. That gives the converter's names for the models listed (their hashes are in its
// table) and also serves tokenizers no table lists, such as one a user trained with one of these patterns.
//   gpt-2      ByteLevel with GPT-2's pattern alone (GPT-2)
//   smollm     Digits (one digit each), then ByteLevel with GPT-2's pattern (SmolLM, SmolLM2; StarCoder's split)
//   llama-bpe  Split by Llama 3's pattern, then ByteLevel without a pattern (Llama 3, 3.1, 3.2)
//   qwen2      Split by Qwen2's pattern (Llama 3's with single digits), then ByteLevel (Qwen2, Qwen2.5, Qwen3)
// Anything else is refused by name rather than written with a guess.

type Json = Record<string, unknown>;

const LLAMA3_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const SPLIT_PATTERNS: Record<string, string> = { [LLAMA3_PATTERN]: 'llama-bpe', [QWEN2_PATTERN]: 'qwen2' };

const refuse = (why: string) => new Error(`cannot export GGUF: ${why}`);

/** ByteLevel with no prefix space, splitting by GPT-2's pattern when `regex`, else not at all. */
const isByteLevel = (p: Json | undefined, regex: boolean) =>
  p?.type === 'ByteLevel' && p.add_prefix_space !== true && (p.use_regex !== false) === regex;

function recognise(pre: Json | null | undefined): string | null {
  if (!pre) return null;
  if (isByteLevel(pre, true)) return 'gpt-2';
  if (pre.type !== 'Sequence' || !Array.isArray(pre.pretokenizers) || pre.pretokenizers.length !== 2) return null;
  const [first, second] = pre.pretokenizers as Json[];
  if (first?.type === 'Digits' && first.individual_digits === true && isByteLevel(second, true)) return 'smollm';
  const pattern = (first?.pattern as Json | undefined)?.Regex;
  if (
    first?.type === 'Split' &&
    typeof pattern === 'string' &&
    first.behavior === 'Isolated' &&
    first.invert !== true &&
    isByteLevel(second, false)
  )
    return SPLIT_PATTERNS[pattern] ?? null;
  return null;
}

/** tokenizer.ggml.pre for a byte-level BPE tokenizer.json; throws naming what llama.cpp would split differently. */
export function ggufPreTokenizer(json: Json): string {
  const normalizer = json.normalizer as Json | null | undefined;
  // llama.cpp normalizes nothing; NFC (Qwen's) changes only text that is not NFC already.
  if (normalizer && normalizer.type !== 'NFC')
    throw refuse(`tokenizer.json's normalizer "${String(normalizer.type)}" has no counterpart in llama.cpp`);
  const name = recognise(json.pre_tokenizer as Json | null | undefined);
  if (name === null)
    throw refuse(
      `tokenizer.json's pre_tokenizer is not one llama.cpp is known to split the same way (Hearth recognises GPT-2's, SmolLM's, Llama 3's and Qwen2's)`,
    );
  // llama.cpp looks a whole piece up before merging for Llama 3's split only.
  const ignoreMerges = (json.model as Json | undefined)?.ignore_merges === true;
  if (ignoreMerges !== (name === 'llama-bpe'))
    throw refuse(
      `tokenizer.json's model has ignore_merges ${ignoreMerges}, but llama.cpp's "${name}" pre-tokenizer ${name === 'llama-bpe' ? 'ignores' : 'keeps'} merges for whole words`,
    );
  return name;
}

/**
 * For BPE with byte fallback: whether tokenizer.json turns spaces into "▁" as SentencePiece does (a Prepend and
 * Replace normalizer, as Llama 2's; or a Metaspace pre-tokenizer that does not split), and whether it prefixes the
 * text with one (llama.cpp's add_space_prefix). null when it does something else.
 */
export function sentencePieceSpaces(json: Json): { addPrefix: boolean } | null {
  const normalizer = json.normalizer as Json | null | undefined;
  const pre = json.pre_tokenizer as Json | null | undefined;
  if (normalizer && !pre) {
    const steps = (normalizer.type === 'Sequence' ? normalizer.normalizers : [normalizer]) as Json[];
    const replaces = (s: Json) =>
      s.type === 'Replace' && (s.pattern as Json | undefined)?.String === ' ' && s.content === '▁';
    if (steps.length === 2 && steps[0].type === 'Prepend' && steps[0].prepend === '▁' && replaces(steps[1]))
      return { addPrefix: true };
    if (steps.length === 1 && replaces(steps[0])) return { addPrefix: false };
    return null;
  }
  if (!normalizer && pre?.type === 'Metaspace' && pre.replacement === '▁' && pre.split === false) {
    const scheme = pre.prepend_scheme ?? (pre.add_prefix_space === false ? 'never' : 'always');
    return { addPrefix: scheme !== 'never' };
  }
  return null;
}
