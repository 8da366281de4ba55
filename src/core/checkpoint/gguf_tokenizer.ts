// A checkpoint's tokenizer as GGUF metadata (tokenizer.ggml.*), in the form llama.cpp's "gpt2" (byte-level BPE)
// tokenizer runs: GPT-2's own and the BPE tokenizers Hearth trains as they are; Hearth's character tokenizer as a
// byte-level BPE whose merges rebuild each multi-byte character, so llama.cpp gives every known character its id.
import { bytesToTokenText } from '../tokenizer/byte_level.ts';
import { ByteLevelBpeTokenizer, CharTokenizer } from '../tokenizer/index.ts';
import type { ModelConfig } from '../model/families/index.ts';
import type { GenerationConfig } from './config.ts';
import { bool, int32s, str, strings, u32, type GgufValue } from './gguf.ts';
import type { TokenizerFiles } from './hf_folder.ts';
import { tokenizerOf } from './tokenizer_files.ts';

/** llama.cpp's token types (llama_token_type). */
const GGUF_TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, UNUSED: 5 } as const;

interface Vocabulary {
  tokens: string[];
  types: number[];
  merges: string[];
  eos: number;
  unknown?: number;
}

export function ggufTokenizerMetadata(
  files: TokenizerFiles,
  generationConfig: GenerationConfig | undefined,
  c: ModelConfig,
): [string, GgufValue][] {
  const tokenizer = tokenizerOf(files, generationConfig);
  let v: Vocabulary;
  if (tokenizer instanceof ByteLevelBpeTokenizer) v = byteLevelVocabulary(tokenizer);
  else if (tokenizer instanceof CharTokenizer) v = charVocabulary(tokenizer);
  else
    throw new Error(
      `cannot export GGUF: the tokenizer (${tokenizer.summary.model}) is not GPT-2's byte-level BPE scheme, the only one llama.cpp's gpt2 architecture runs`,
    );
  if (v.tokens.length > c.vocab_size)
    throw new Error(
      `cannot export GGUF: the tokenizer has ${v.tokens.length} tokens but the model's vocab_size is ${c.vocab_size}`,
    );
  // Rows of wte past the tokenizer's last id get placeholder tokens, as the converter writes them.
  for (let id = v.tokens.length; id < c.vocab_size; id++) {
    v.tokens.push(`[PAD${id}]`);
    v.types.push(GGUF_TOKEN_TYPE.UNUSED);
  }
  const b = c.bos_token_id;
  const bos = b !== null && b !== undefined && b >= 0 && b < c.vocab_size ? b : v.eos;
  const meta: [string, GgufValue][] = [
    ['tokenizer.ggml.model', str('gpt2')],
    // GPT-2's split pattern, which ByteLevel (use_regex) applies in every tokenizer written here.
    ['tokenizer.ggml.pre', str('gpt-2')],
    ['tokenizer.ggml.tokens', strings(v.tokens)],
    ['tokenizer.ggml.token_type', int32s(v.types)],
    ['tokenizer.ggml.merges', strings(v.merges)],
    ['tokenizer.ggml.bos_token_id', u32(bos)],
    ['tokenizer.ggml.eos_token_id', u32(v.eos)],
  ];
  if (v.unknown !== undefined) meta.push(['tokenizer.ggml.unknown_token_id', u32(v.unknown)]);
  // Hearth's tokenizers add no BOS or EOS around a prompt; llama.cpp must not either.
  meta.push(['tokenizer.ggml.add_bos_token', bool(false)], ['tokenizer.ggml.add_eos_token', bool(false)]);
  return meta;
}

function byteLevelVocabulary(t: ByteLevelBpeTokenizer): Vocabulary {
  const special = new Set(t.specialTokens.values());
  return {
    tokens: [...t.tokens],
    types: t.tokens.map((_, id) => (special.has(id) ? GGUF_TOKEN_TYPE.CONTROL : GGUF_TOKEN_TYPE.NORMAL)),
    merges: t.merges.map(([a, b]) => `${a} ${b}`),
    eos: t.eosTokenId,
  };
}

/**
 * Characters as byte-level tokens: a one-byte character is its byte's token, and a multi-byte character gets merges
 * that join its bytes left to right ("Ã ©" for é). A merge's right side is always a continuation byte and its left
 * side starts with a lead byte, so no merge joins two characters; a character the data never showed falls apart
 * into bytes that have no token, which llama.cpp drops (Hearth would give <|unk|>).
 */
function charVocabulary(t: CharTokenizer): Vocabulary {
  const encoder = new TextEncoder();
  const tokens: string[] = [];
  const types: number[] = [];
  const merges: string[] = [];
  const seen = new Set<string>();
  t.tokens.forEach((text, id) => {
    if (id === t.unknownTokenId || id === t.eosTokenId) {
      tokens.push(text);
      types.push(id === t.unknownTokenId ? GGUF_TOKEN_TYPE.UNKNOWN : GGUF_TOKEN_TYPE.CONTROL);
      return;
    }
    const bytes = encoder.encode(text);
    let left = bytesToTokenText(bytes.subarray(0, 1));
    for (let i = 1; i < bytes.length; i++) {
      const right = bytesToTokenText(bytes.subarray(i, i + 1));
      const merge = `${left} ${right}`;
      if (!seen.has(merge)) merges.push(merge);
      seen.add(merge);
      left += right;
    }
    tokens.push(left);
    types.push(GGUF_TOKEN_TYPE.NORMAL);
  });
  return { tokens, types, merges, eos: t.eosTokenId, unknown: t.unknownTokenId };
}
