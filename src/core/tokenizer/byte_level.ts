// GPT-2's byte-level conventions, shared by the encoder, the trainer and the vocabulary script.

/**
 * GPT-2's `bytes_to_unicode`: every byte gets a printable character so that vocab.json and
 * merges.txt hold no whitespace or control characters. Printable Latin-1 bytes map to
 * themselves; the other 68 take code points from 256 upwards, in byte order.
 * BYTE_ORDER lists the bytes in the order GPT-2 numbers them (ids 0..255 of its vocabulary).
 */
export const BYTE_TO_CHAR: readonly string[] = [];
export const BYTE_ORDER: readonly number[] = [];
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const chars = new Array<string>(256);
  for (const b of printable) chars[b] = String.fromCharCode(b);
  const order = [...printable];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    if (chars[b] !== undefined) continue;
    chars[b] = String.fromCharCode(next++);
    order.push(b);
  }
  (BYTE_TO_CHAR as string[]).push(...chars);
  (BYTE_ORDER as number[]).push(...order);
  return new Map(chars.map((c, b) => [c, b]));
})();

/** A token's bytes written as GPT-2 vocabulary text ("Ġthe" for " the"). */
export function bytesToTokenText(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** Char code -> byte for the 256 alphabet characters (all below U+0144), -1 elsewhere. */
const CODE_TO_BYTE = (() => {
  const a = new Int16Array(0x144).fill(-1);
  for (const [c, b] of CHAR_TO_BYTE) a[c.charCodeAt(0)] = b;
  return a;
})();

/**
 * The inverse of bytesToTokenText; throws on a character outside the byte alphabet. Writes into
 * `out` at `at` and returns the byte count (one byte per character).
 */
export function tokenTextToBytes(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const b = CODE_TO_BYTE[text.charCodeAt(i)] ?? -1;
    if (b < 0) throw new Error(`"${text}" is not byte-level BPE text (character U+${text.charCodeAt(i).toString(16)})`);
    out[at + i] = b;
  }
  return text.length;
}

/**
 * GPT-2's pre-tokenizer pattern, as Hugging Face's ByteLevel pre-tokenizer and tokenizers.js use it.
 * JavaScript's \s differs from Oniguruma's (used by the Rust library) only on U+0085 and U+FEFF;
 * tokenizers.js and gpt-tokenizer share JavaScript's reading, and so do we.
 */
export const GPT2_SPLIT_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
export const gpt2SplitRegex = (): RegExp => new RegExp(GPT2_SPLIT_PATTERN, 'gu');

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Cuts text around special tokens, as Hugging Face does with added tokens before pre-tokenizing:
 * calls onText for the ordinary stretches and onSpecial for each special token found.
 */
export function makeSpecialSplitter(specialTokens: ReadonlyMap<string, number>) {
  const names = [...specialTokens.keys()].sort((a, b) => b.length - a.length);
  const regex = names.length ? new RegExp(names.map(escapeRegExp).join('|'), 'g') : null;
  return (text: string, onText: (s: string) => void, onSpecial: (id: number) => void): void => {
    if (!regex) {
      onText(text);
      return;
    }
    regex.lastIndex = 0;
    let start = 0;
    for (let m = regex.exec(text); m; m = regex.exec(text)) {
      if (m.index > start) onText(text.slice(start, m.index));
      onSpecial(specialTokens.get(m[0])!);
      start = m.index + m[0].length;
    }
    if (start < text.length) onText(start === 0 ? text : text.slice(start));
  };
}

const isSpace = (c: string) => /\s/.test(c);

/**
 * Where streamed text can be cut without changing how it pre-tokenizes: just before a whitespace
 * character that follows a non-whitespace one. No piece of the GPT-2 pattern runs from
 * non-whitespace into whitespace, and the whitespace run after the cut splits the same way
 * (its lookahead sees the same following text). Returns 0 when there is no such place.
 */
export function safeCutIndex(text: string): number {
  for (let i = text.length - 1; i > 0; i--) {
    if (isSpace(text[i]) && !isSpace(text[i - 1])) return i;
  }
  return 0;
}
