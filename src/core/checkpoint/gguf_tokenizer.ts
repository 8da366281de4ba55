// A checkpoint's tokenizer as GGUF metadata (tokenizer.ggml.*), in the forms llama.cpp's tokenizers run:
// - "gpt2" (byte-level BPE): GPT-2's own and the BPE tokenizers Hearth trains as they are; Hearth's character
//   tokenizer as a byte-level BPE whose merges rebuild each multi-byte character, so llama.cpp gives every known
//   character its id; and Hugging Face byte-level tokenizer.json files (SmolLM2, Llama 3, Qwen2) with their
//   pre-tokenizer named in tokenizer.ggml.pre (see gguf_pretokenizer.ts);
// - "llama" (SentencePiece): tokenizer.json BPE with byte_fallback over "▁" for spaces (Llama 2, TinyLlama, Mistral).
import { bytesToTokenText } from '../tokenizer/byte_level.ts';
import { ByteLevelBpeTokenizer, CharTokenizer, PipelineTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import type { ModelConfig } from '../model/families/index.ts';
import type { GenerationConfig } from './config.ts';
import { bool, f32s, int32s, str, strings, u32, type GgufValue } from './gguf.ts';
import { ggufPreTokenizer, sentencePieceSpaces } from './gguf_pretokenizer.ts';
import type { TokenizerFiles } from './hf_folder.ts';
import { tokenizerOf } from './tokenizer_files.ts';

/** llama.cpp's token types (llama_token_type). */
const GGUF_TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

interface Vocabulary {
  model: 'gpt2' | 'llama';
  pre: string;
  tokens: string[];
  types: number[];
  /** gpt2: the merges, in rank order */
  merges?: string[];
  /** llama: each token's score, higher merged first */
  scores?: number[];
  eos: number;
  bos?: number;
  unknown?: number;
  padding?: number;
  /** what the tokenizer puts around a text: llama.cpp must do the same */
  addBos: boolean;
  addEos: boolean;
  addSpacePrefix?: boolean;
  chatTemplate?: string;
}

const refuse = (why: string) => new Error(`cannot export GGUF: ${why}`);

export function ggufTokenizerMetadata(
  files: TokenizerFiles,
  generationConfig: GenerationConfig | undefined,
  c: ModelConfig,
): [string, GgufValue][] {
  const tokenizer = tokenizerOf(files, generationConfig);
  let v: Vocabulary;
  if (tokenizer instanceof ByteLevelBpeTokenizer) v = byteLevelVocabulary(tokenizer);
  else if (tokenizer instanceof CharTokenizer) v = charVocabulary(tokenizer);
  else if (tokenizer instanceof PipelineTokenizer) v = pipelineVocabulary(tokenizer, files['tokenizer.json']!);
  else throw refuse(`the tokenizer (${tokenizer.summary.model}) has no form in llama.cpp that Hearth writes`);
  if (v.tokens.length > c.vocab_size)
    throw refuse(`the tokenizer has ${v.tokens.length} tokens but the model's vocab_size is ${c.vocab_size}`);
  // Rows of the embedding past the tokenizer's last id get placeholder tokens, as the converter writes them.
  for (let id = v.tokens.length; id < c.vocab_size; id++) {
    v.tokens.push(`[PAD${id}]`);
    v.types.push(GGUF_TOKEN_TYPE.UNUSED);
    v.scores?.push(-1000);
  }
  const b = v.bos ?? c.bos_token_id;
  const bos = b !== null && b !== undefined && b >= 0 && b < c.vocab_size ? b : v.eos;
  const meta: [string, GgufValue][] = [
    ['tokenizer.ggml.model', str(v.model)],
    ['tokenizer.ggml.pre', str(v.pre)],
    ['tokenizer.ggml.tokens', strings(v.tokens)],
  ];
  if (v.scores) meta.push(['tokenizer.ggml.scores', f32s(v.scores)]);
  meta.push(['tokenizer.ggml.token_type', int32s(v.types)]);
  if (v.merges) meta.push(['tokenizer.ggml.merges', strings(v.merges)]);
  meta.push(['tokenizer.ggml.bos_token_id', u32(bos)], ['tokenizer.ggml.eos_token_id', u32(v.eos)]);
  if (v.unknown !== undefined) meta.push(['tokenizer.ggml.unknown_token_id', u32(v.unknown)]);
  if (v.padding !== undefined) meta.push(['tokenizer.ggml.padding_token_id', u32(v.padding)]);
  // Written always: llama.cpp's defaults differ by tokenizer model, and it must wrap a prompt as Hearth does.
  meta.push(['tokenizer.ggml.add_bos_token', bool(v.addBos)], ['tokenizer.ggml.add_eos_token', bool(v.addEos)]);
  if (v.addSpacePrefix !== undefined) meta.push(['tokenizer.ggml.add_space_prefix', bool(v.addSpacePrefix)]);
  if (v.chatTemplate !== undefined) meta.push(['tokenizer.chat_template', str(v.chatTemplate)]);
  return meta;
}

/** The ids a tokenizer puts before and after a text (its post-processor or tokenizer_config.json's switches). */
function template(t: Tokenizer): { before: number[]; after: number[] } {
  const plain = t.encode('a', { addSpecialTokens: false });
  const full = t.encode('a');
  for (let at = 0; at + plain.length <= full.length; at++)
    if (plain.every((id, k) => full[at + k] === id))
      return { before: full.slice(0, at), after: full.slice(at + plain.length) };
  return { before: [], after: [] };
}

/** The converter's does_token_look_special: added tokens some models fail to mark special. */
const looksSpecial = (t: string) =>
  ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) ||
  (t.startsWith('<|') && t.endsWith('|>')) ||
  (t.startsWith('<｜') && t.endsWith('｜>')) ||
  (t.startsWith('<unused') && t.endsWith('>'));

/**
 * A Hugging Face tokenizer.json read by Hearth's pipeline: byte-level BPE as llama.cpp's "gpt2" (the converter's
 * get_vocab_base and SpecialVocab), BPE with byte fallback over "▁" as its "llama" (SentencePiece).
 */
function pipelineVocabulary(t: PipelineTokenizer, source: string): Vocabulary {
  const json = JSON.parse(source) as Record<string, unknown>;
  const model = json.model as { type?: string; byte_fallback?: boolean; merges?: unknown[]; vocab?: object };
  if ((model.type ?? 'BPE') !== 'BPE') throw refuse(`tokenizer.json's model "${model.type}" is not BPE`);
  const added = new Map(
    ((json.added_tokens ?? []) as { id: number; content: string; special?: boolean }[]).map((a) => [a.id, a]),
  );
  const special = new Set(t.specialTokenIds);
  const unknown = t.summary.special.find((s) => s.role === 'unk')?.id;
  const around = template(t);
  if (around.before.length > 1 || around.after.length > 1)
    throw refuse(
      `the tokenizer wraps a text as [${around.before}] … [${around.after}], which llama.cpp cannot (it adds at most BOS before and EOS after)`,
    );
  const common = {
    eos: t.eosTokenId,
    // the token the post-processor puts first is the one llama.cpp must add (the config may name none)
    bos: around.before[0] ?? t.bosTokenId ?? undefined,
    unknown,
    padding: t.padTokenId ?? undefined,
    addBos: around.before.length === 1,
    addEos: around.after.length === 1,
    chatTemplate: t.config.chatTemplate ?? undefined,
  };
  if (around.after.length === 1 && around.after[0] !== t.eosTokenId)
    throw refuse(`the tokenizer ends a text with id ${around.after[0]}, not its end-of-text token ${t.eosTokenId}`);
  const tokens: string[] = [];
  const types: number[] = [];
  const typeOf = (id: number, text: string, normal: number) => {
    const a = added.get(id);
    if (a)
      return a.special || special.has(id) || looksSpecial(text)
        ? GGUF_TOKEN_TYPE.CONTROL
        : GGUF_TOKEN_TYPE.USER_DEFINED;
    return normal;
  };

  if (model.byte_fallback) {
    const spaces = sentencePieceSpaces(json);
    if (spaces === null)
      throw refuse(
        `tokenizer.json is BPE with byte fallback but does not turn spaces into "▁" as SentencePiece does (a Prepend and Replace normalizer, or a Metaspace pre-tokenizer), which is what llama.cpp's llama tokenizer runs`,
      );
    // llama.cpp's SentencePiece tokenizer joins the adjacent pair whose joined text has the highest score; each
    // token scores minus the rank of the merge that makes it, so pairs join in the order of the merges.
    const rank = new Map<string, number>();
    mergePairs(model.merges ?? []).forEach(([a, b], r) => {
      if (!rank.has(a + b)) rank.set(a + b, r);
    });
    const scores: number[] = [];
    for (let id = 0; id < t.tokens.length; id++) {
      const text = t.tokens[id];
      if (text === undefined) {
        tokens.push(`[PAD${id}]`);
        types.push(GGUF_TOKEN_TYPE.UNUSED);
        scores.push(-1000);
        continue;
      }
      const normal = /^<0x[0-9A-Fa-f]{2}>$/.test(text)
        ? GGUF_TOKEN_TYPE.BYTE
        : id === unknown
          ? GGUF_TOKEN_TYPE.UNKNOWN
          : special.has(id)
            ? GGUF_TOKEN_TYPE.CONTROL
            : GGUF_TOKEN_TYPE.NORMAL;
      tokens.push(text);
      types.push(id === unknown ? GGUF_TOKEN_TYPE.UNKNOWN : typeOf(id, text, normal));
      scores.push(-(rank.get(text) ?? 0));
    }
    return { ...common, model: 'llama', pre: 'default', tokens, types, scores, addSpacePrefix: spaces.addPrefix };
  }

  const pre = ggufPreTokenizer(json);
  for (let id = 0; id < t.tokens.length; id++) {
    const text = t.tokens[id];
    tokens.push(text ?? `[PAD${id}]`);
    types.push(text === undefined ? GGUF_TOKEN_TYPE.UNUSED : typeOf(id, text, GGUF_TOKEN_TYPE.NORMAL));
  }
  const merges = mergePairs(model.merges ?? []).map(([a, b]) => `${a} ${b}`);
  return { ...common, model: 'gpt2', pre, tokens, types, merges };
}

/** tokenizer.json's merges, written "a b" or ["a", "b"]. */
function mergePairs(merges: unknown[]): [string, string][] {
  return merges.map((m, k) => {
    if (Array.isArray(m) && m.length === 2) return [String(m[0]), String(m[1])];
    if (typeof m === 'string') {
      const space = m.indexOf(' ', 1);
      if (space > 0) return [m.slice(0, space), m.slice(space + 1)];
    }
    throw refuse(`tokenizer.json's merge ${k} (${JSON.stringify(m)}) is not a pair`);
  });
}

function byteLevelVocabulary(t: ByteLevelBpeTokenizer): Vocabulary {
  const special = new Set(t.specialTokens.values());
  return {
    tokens: [...t.tokens],
    types: t.tokens.map((_, id) => (special.has(id) ? GGUF_TOKEN_TYPE.CONTROL : GGUF_TOKEN_TYPE.NORMAL)),
    merges: t.merges.map(([a, b]) => `${a} ${b}`),
    eos: t.eosTokenId,
    ...GPT2_SCHEME,
  };
}

/** GPT-2's split pattern, which ByteLevel (use_regex) applies; Hearth's own tokenizers add no BOS or EOS. */
const GPT2_SCHEME = { model: 'gpt2', pre: 'gpt-2', addBos: false, addEos: false } as const;

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
  return { tokens, types, merges, eos: t.eosTokenId, unknown: t.unknownTokenId, ...GPT2_SCHEME };
}
