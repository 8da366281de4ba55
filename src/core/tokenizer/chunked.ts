// Encoding text that arrives in chunks (a file streamed from disk) exactly as if it were one string, and decoding
// ids that arrive one by one (generation) without ever showing half a character.
import type { ChunkEncoder, StreamDecoder } from './types.ts';

/** Past this much text without a safe cut (one enormous word), cut anyway. */
export const MAX_CARRY = 1 << 20;

/**
 * Chunks are joined and cut where `cutIndex` says cutting cannot change the tokens; each cut-off part is encoded
 * by `encode`, told whether it continues text already encoded.
 */
export function cuttingChunkEncoder(
  cutIndex: (text: string) => number,
  encode: (text: string, continued: boolean) => number[],
): ChunkEncoder {
  let carry = '';
  let continued = false;
  return {
    push(chunk) {
      const text = carry + chunk;
      let cut = cutIndex(text);
      if (cut === 0 && text.length > MAX_CARRY) cut = text.length;
      carry = text.slice(cut);
      if (cut === 0) return [];
      const ids = encode(text.slice(0, cut), continued);
      continued = true;
      return ids;
    },
    finish() {
      const ids = carry ? encode(carry, continued) : [];
      carry = '';
      return ids;
    },
  };
}

/**
 * A stream decoder for any decoder chain: the text of the ids since the last emitted boundary is decoded whole
 * and what it adds beyond the text already shown comes out, unless it ends in U+FFFD (a character whose bytes
 * have not all arrived). Decoding from the same first id each time keeps decoders that treat the first token
 * specially (a leading space stripped) consistent. The first ids are decoded after `context` (the prompt, whole
 * characters), so that what the first token adds is read where it stands: " the" after "<s> cat", not "the".
 * Never throws.
 */
export function windowStreamDecoder(decode: (ids: number[]) => string, context: readonly number[] = []): StreamDecoder {
  let ids: number[] = [];
  const safeDecode = (x: number[]) => {
    try {
      return decode(x);
    } catch {
      return '';
    }
  };
  // The ids last emitted, decoded again as context for the next ones. They start where a character starts (the
  // text before them was complete), so a run of byte tokens read from there is what the whole text holds.
  let prefix: number[] = [...context];
  return {
    push(id) {
      ids.push(id);
      const before = safeDecode(prefix);
      const after = safeDecode(prefix.concat(ids));
      if (after.length <= before.length || after.endsWith('\uFFFD')) return '';
      prefix = ids;
      ids = [];
      return after.slice(before.length);
    },
    flush() {
      if (!ids.length) return '';
      const before = safeDecode(prefix);
      const after = safeDecode(prefix.concat(ids));
      ids = [];
      return after.slice(before.length);
    },
  };
}
