// Hugging Face tokenizer.json: the shapes we read and write. Writing follows GPT-2's own file
// (openai-community/gpt2) field for field, so the Rust library, transformers and tokenizers.js
// load what we write.

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The parts of a tokenizer.json we look at; everything else is kept out of the way. */
export interface TokenizerJson {
  version?: string;
  added_tokens?: Partial<AddedTokenJson>[];
  normalizer?: unknown;
  pre_tokenizer?: { type?: string } | null;
  decoder?: { type?: string } | null;
  model: {
    type?: string;
    vocab: Record<string, number>;
    /** "a b" strings (older files, GPT-2's) or [a, b] pairs (newer files) */
    merges?: (string | [string, string])[];
    unk_token?: string | null;
  };
}

export function addedToken(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };
}

/** Vocabulary object in id order (JSON keeps insertion order, so the file reads like GPT-2's). */
function vocabObject(tokens: readonly string[], skip: ReadonlySet<number>): Record<string, number> {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    if (!skip.has(id)) vocab[t] = id;
  });
  return vocab;
}

/** A byte-level BPE tokenizer.json; `tokens[id]` is each token's vocabulary text. */
export function byteLevelBpeJson(
  tokens: readonly string[],
  merges: readonly (readonly [string, string])[],
  special: readonly { id: number; content: string }[],
): string {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((s) => addedToken(s.id, s.content)),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, add_prefix_space: true, trim_offsets: false },
    decoder: { ...byteLevel, add_prefix_space: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      // Special tokens also sit in the vocabulary, as in GPT-2's file.
      vocab: vocabObject(tokens, new Set()),
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return JSON.stringify(json);
}

/**
 * A character-level tokenizer as tokenizer.json: a WordLevel model over single code points.
 * The Rust library (and so transformers' PreTrainedTokenizerFast) loads it as is: the Split
 * pre-tokenizer isolates every code point ([\s\S] also matches newlines, which Oniguruma's "."
 * would not), WordLevel maps each to its id with <|unk|> for unseen ones, and the Fuse decoder
 * joins tokens without the spaces a decoder-less tokenizer would insert. tokenizers.js has no
 * WordLevel class but falls back to its plain vocabulary lookup, which gives the same ids
 * (pass { unk_token: '<|unk|>' } as its tokenizer config so unseen characters map to <|unk|>).
 */
export function charLevelJson(
  tokens: readonly string[],
  special: readonly { id: number; content: string }[],
  unkToken: string,
): string {
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((s) => addedToken(s.id, s.content)),
    normalizer: null,
    pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'WordLevel', vocab: vocabObject(tokens, new Set()), unk_token: unkToken },
  };
  return JSON.stringify(json);
}

/** Parses merges from either tokenizer.json form or from merges.txt lines. */
export function parseMerges(merges: readonly (string | readonly [string, string])[]): [string, string][] {
  const out: [string, string][] = [];
  for (const m of merges) {
    if (typeof m !== 'string') {
      out.push([m[0], m[1]]);
      continue;
    }
    if (m === '' || m.startsWith('#version')) continue;
    const space = m.indexOf(' ', 1); // byte-level tokens never hold a space, so the first one splits
    if (space < 0) throw new Error(`bad merge line "${m}"`);
    out.push([m.slice(0, space), m.slice(space + 1)]);
  }
  return out;
}
