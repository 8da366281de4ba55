// Decoders of a tokenizer.json, as the Rust library chains them: each takes the list of token strings and gives
// a new list; the last list is joined. ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence.
import { CHAR_TO_BYTE } from './byte_level.ts';
import { readStages, type FileField } from './errors.ts';
import { patternOf } from './normalizers.ts';

export type Decoder = (tokens: string[]) => string[];

type Json = Record<string, unknown>;

const utf8 = new TextEncoder();
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Bytes of GPT-2's byte alphabet back to text; a token with a character outside the alphabet counts as its UTF-8. */
function byteLevelDecoder(tokens: string[]): string[] {
  const bytes: number[] = [];
  for (const t of tokens) {
    const mark = bytes.length;
    let inAlphabet = true;
    for (const c of t) {
      const b = CHAR_TO_BYTE.get(c);
      if (b === undefined) {
        inAlphabet = false;
        break;
      }
      bytes.push(b);
    }
    if (!inAlphabet) {
      bytes.length = mark;
      for (const b of utf8.encode(t)) bytes.push(b);
    }
  }
  return [new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes))];
}

/** Runs of <0xNN> tokens become their text; a run that is not UTF-8 becomes one U+FFFD per byte. */
function byteFallbackDecoder(tokens: string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (!run.length) return;
    try {
      out.push(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(run)));
    } catch {
      for (let k = 0; k < run.length; k++) out.push('\uFFFD');
    }
    run = [];
  };
  for (const t of tokens) {
    const m = t.length === 6 ? BYTE_TOKEN.exec(t) : null;
    if (m) run.push(parseInt(m[1], 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}

function oneChar(json: Json, key: string, fallback: string, field: FileField): string {
  const v = json[key] ?? fallback;
  if (typeof v !== 'string' || [...v].length !== 1) throw field.at(key).error('must be one character');
  return v;
}

export function decoderFromJson(json: unknown, field: FileField): Decoder | null {
  if (json === null || json === undefined) return null;
  const d = json as Json;
  switch (d.type) {
    case 'ByteLevel':
      return byteLevelDecoder;
    case 'ByteFallback':
      return byteFallbackDecoder;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Replace': {
      const { regex, isString, text } = patternOf(d.pattern, field.at('pattern'));
      const content = typeof d.content === 'string' ? d.content : '';
      return isString
        ? (tokens) => tokens.map((t) => t.replaceAll(text, content))
        : (tokens) => tokens.map((t) => t.replace(regex, () => content));
    }
    case 'Strip': {
      const content = oneChar(d, 'content', ' ', field);
      const start = Number(d.start ?? 0);
      const stop = Number(d.stop ?? 0);
      return (tokens) =>
        tokens.map((t) => {
          const chars = [...t];
          let a = 0;
          while (a < start && a < chars.length && chars[a] === content) a++;
          let b = chars.length;
          while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
          return chars.slice(a, b).join('');
        });
    }
    case 'Metaspace': {
      const replacement = oneChar(d, 'replacement', '\u2581', field);
      let scheme = d.prepend_scheme ?? 'always';
      if (d.add_prefix_space === false) scheme = 'never';
      // The first token loses its replacement characters (the space a prefix added), as in the Rust library.
      return (tokens) => tokens.map((t, i) => t.replaceAll(replacement, i === 0 && scheme !== 'never' ? '' : ' '));
    }
    case 'Sequence': {
      const parts = readStages(d.decoders, field.at('decoders'), decoderFromJson);
      return (tokens) => parts.reduce((t, p) => p(t), tokens);
    }
    default:
      throw field
        .at('type')
        .error(
          `the decoder ${JSON.stringify(d.type)} is not supported (Hearth reads ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence)`,
        );
  }
}

/** transformers' clean_up_tokenization: the spaces English tokenizers put before punctuation and contractions. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
