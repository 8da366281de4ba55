// Pre-tokenizers of a tokenizer.json: they cut normalized text into pieces that BPE merges separately. Pieces are
// passed on as (text, start, end) ranges so that a split does not copy the text it splits. Behaviour follows the
// Rust library (tokenizers.js differs on Split's merge behaviours, Digits, Punctuation, Whitespace and Metaspace's
// split; see each).
import { gpt2PieceEnd } from './pretokenize.ts';
import { readStages, type FileField } from './errors.ts';
import { patternOf } from './normalizers.ts';

/** Receives one piece: text.slice(start, end); `atStart` when the piece begins the whole text. */
type Emit = (text: string, start: number, end: number, atStart: boolean) => void;

export interface PreTokenizer {
  split(text: string, start: number, end: number, atStart: boolean, emit: Emit): void;
  /** the model must see each piece's UTF-8 bytes (a ByteLevel stage) */
  readonly byteLevel: boolean;
}

type Json = Record<string, unknown>;
type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly Behavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/**
 * Segments of a text as the Rust library's Pattern::find_matches lists them: [start, end, isMatch] end to end,
 * flattened. `invert` flips isMatch.
 */
type Segments = number[];

function regexSegments(regex: RegExp, text: string, invert: boolean): Segments {
  const segs: Segments = [];
  const m = invert ? 0 : 1;
  let prev = 0;
  regex.lastIndex = 0;
  for (let r = regex.exec(text); r; r = regex.exec(text)) {
    const s = r.index;
    const e = s + r[0].length;
    if (prev !== s) segs.push(prev, s, 1 - m);
    segs.push(s, e, m);
    prev = e;
    if (e === s) regex.lastIndex = e + (text.codePointAt(e)! > 0xffff ? 2 : 1);
  }
  if (prev !== text.length) segs.push(prev, text.length, 1 - m);
  return segs;
}

function charSegments(test: (cp: number) => boolean, text: string, invert: boolean): Segments {
  const segs: Segments = [];
  const m = invert ? 0 : 1;
  let last = 0;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    if (test(cp)) {
      if (last < i) segs.push(last, i, 1 - m);
      segs.push(i, i + w, m);
      last = i + w;
    }
    i += w;
  }
  if (last < text.length) segs.push(last, text.length, 1 - m);
  return segs;
}

/** The Rust library's SplitDelimiterBehavior applied to segments; emits the non-empty pieces. */
function emitByBehavior(segs: Segments, behavior: Behavior, text: string, atStart: boolean, emit: Emit) {
  const pieces: number[] = [];
  const n = segs.length / 3;
  if (behavior === 'Removed' || behavior === 'Isolated') {
    for (let k = 0; k < n; k++)
      if (behavior === 'Isolated' || !segs[3 * k + 2]) pieces.push(segs[3 * k], segs[3 * k + 1]);
  } else if (behavior === 'MergedWithPrevious' || behavior === 'Contiguous') {
    let previous = 0;
    for (let k = 0; k < n; k++) {
      const [s, e, isMatch] = [segs[3 * k], segs[3 * k + 1], segs[3 * k + 2]];
      const join = behavior === 'Contiguous' ? isMatch === previous : isMatch && !previous;
      if (join && pieces.length) pieces[pieces.length - 1] = e;
      else pieces.push(s, e);
      previous = isMatch;
    }
  } else {
    // MergedWithNext: the same walk backwards.
    const rev: number[] = [];
    let previous = 0;
    for (let k = n - 1; k >= 0; k--) {
      const [s, e, isMatch] = [segs[3 * k], segs[3 * k + 1], segs[3 * k + 2]];
      if (isMatch && !previous && rev.length) rev[rev.length - 2] = s;
      else rev.push(s, e);
      previous = isMatch;
    }
    for (let k = rev.length - 2; k >= 0; k -= 2) pieces.push(rev[k], rev[k + 1]);
  }
  for (let k = 0; k < pieces.length; k += 2) {
    if (pieces[k] === pieces[k + 1]) continue;
    emit(text, pieces[k], pieces[k + 1], atStart && pieces[k] === 0);
  }
}

/** The range as its own string when a regex must not see past it (lookarounds, anchors, greedy runs). */
const alone = (text: string, start: number, end: number) =>
  start === 0 && end === text.length ? text : text.slice(start, end);

function splitter(segmentsOf: (s: string) => Segments, behavior: Behavior): PreTokenizer {
  return {
    byteLevel: false,
    split(text, start, end, atStart, emit) {
      const s = alone(text, start, end);
      emitByBehavior(segmentsOf(s), behavior, s, atStart, emit);
    },
  };
}

/**
 * Split by a regex without inverting (Llama 3's and Qwen's): emits the text between matches and/or the matches as
 * they are found (Isolated keeps both, Removed the text between, Whitespace's inverted Removed the matches).
 */
function regexPieces(regex: RegExp, keepGaps: boolean, keepMatches: boolean): PreTokenizer {
  return {
    byteLevel: false,
    split(text, start, end, atStart, emit) {
      const s = alone(text, start, end);
      let prev = 0;
      regex.lastIndex = 0;
      for (let r = regex.exec(s); r; r = regex.exec(s)) {
        const a = r.index;
        const b = a + r[0].length;
        if (keepGaps && prev < a) emit(s, prev, a, atStart && prev === 0);
        if (a < b) {
          if (keepMatches) emit(s, a, b, atStart && a === 0);
        } else regex.lastIndex = b + (s.codePointAt(b)! > 0xffff ? 2 : 1);
        prev = b;
      }
      if (keepGaps && prev < s.length) emit(s, prev, s.length, atStart && prev === 0);
    },
  };
}

const PUNCTUATION = /^[\p{P}!-/:-@[-`{-~]$/u;
const NUMERIC = /^\p{N}$/u;
const WHITE_SPACE = /^\p{White_Space}$/u;
const isPunctuation = (cp: number) => PUNCTUATION.test(String.fromCodePoint(cp));
const isNumeric = (cp: number) => (cp >= 0x30 && cp <= 0x39) || (cp > 0x7f && NUMERIC.test(String.fromCodePoint(cp)));
const isWhiteSpace = (cp: number) =>
  cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || (cp > 0x7f && WHITE_SPACE.test(String.fromCodePoint(cp)));

// The Rust regex crate's Unicode \w and \s, as the Whitespace pre-tokenizer uses them.
const RUST_WORD = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;
const WHITESPACE_PATTERN = new RegExp(`[${RUST_WORD}]+|[^${RUST_WORD}\\p{White_Space}]+`, 'gu');

function behaviorOf(json: Json, field: FileField, fallback: Behavior): Behavior {
  const b = json.behavior ?? fallback;
  if (!BEHAVIORS.includes(b as Behavior)) throw field.at('behavior').error(`must be one of ${BEHAVIORS.join(', ')}`);
  return b as Behavior;
}

function byteLevel(json: Json): PreTokenizer {
  const addPrefixSpace = json.add_prefix_space === true;
  const useRegex = json.use_regex !== false;
  return {
    byteLevel: true,
    split(text, start, end, atStart, emit) {
      let s = text;
      if (addPrefixSpace && text.charCodeAt(start) !== 0x20) {
        s = ' ' + text.slice(start, end);
        start = 0;
        end = s.length;
      }
      if (!useRegex) {
        emit(s, start, end, atStart);
        return;
      }
      if (end !== s.length) {
        s = s.slice(start, end);
        start = 0;
        end = s.length;
      }
      // GPT-2's pattern, by the scanner that agrees with it (JavaScript's \s, as tokenizers.js reads it).
      for (let a = start, b: number; a < end; a = b) {
        b = gpt2PieceEnd(s, a);
        emit(s, a, b, atStart && a === start);
      }
    },
  };
}

function metaspace(json: Json, field: FileField): PreTokenizer {
  const replacement = typeof json.replacement === 'string' ? json.replacement : '\u2581';
  if ([...replacement].length !== 1) throw field.at('replacement').error('must be one character');
  let scheme = json.prepend_scheme ?? 'always';
  if (json.add_prefix_space === false) scheme = 'never';
  if (!['always', 'first', 'never'].includes(scheme as string))
    throw field.at('prepend_scheme').error('must be "always", "first" or "never"');
  const split = json.split !== false;
  const isReplacement = (cp: number) => cp === replacement.codePointAt(0);
  return {
    byteLevel: false,
    split(text, start, end, atStart, emit) {
      let s = text.slice(start, end).replaceAll(' ', replacement);
      if (!s.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && atStart))) s = replacement + s;
      if (!split) emit(s, 0, s.length, atStart);
      else emitByBehavior(charSegments(isReplacement, s, false), 'MergedWithNext', s, atStart, emit);
    },
  };
}

export function preTokenizerFromJson(json: unknown, field: FileField): PreTokenizer | null {
  if (json === null || json === undefined) return null;
  const p = json as Json;
  switch (p.type) {
    case 'ByteLevel':
      return byteLevel(p);
    case 'Metaspace':
      return metaspace(p, field);
    case 'Split': {
      const { regex } = patternOf(p.pattern, field.at('pattern'));
      const behavior = behaviorOf(p, field, 'Isolated');
      const invert = p.invert === true;
      if (!invert && (behavior === 'Isolated' || behavior === 'Removed'))
        return regexPieces(regex, true, behavior === 'Isolated');
      return splitter((s) => regexSegments(regex, s, invert), behavior);
    }
    case 'Digits':
      return splitter((s) => charSegments(isNumeric, s, false), p.individual_digits ? 'Isolated' : 'Contiguous');
    case 'Punctuation':
      return splitter((s) => charSegments(isPunctuation, s, false), behaviorOf(p, field, 'Isolated'));
    case 'Whitespace':
      return regexPieces(WHITESPACE_PATTERN, false, true);
    case 'WhitespaceSplit':
      return splitter((s) => charSegments(isWhiteSpace, s, false), 'Removed');
    case 'Sequence': {
      return sequence(readStages(p.pretokenizers, field.at('pretokenizers'), preTokenizerFromJson));
    }
    default:
      throw field
        .at('type')
        .error(
          `the pre-tokenizer ${JSON.stringify(p.type)} is not supported (Hearth reads ByteLevel, Split, Digits, Punctuation, Whitespace, WhitespaceSplit, Metaspace and Sequence)`,
        );
  }
}

function sequence(stages: PreTokenizer[]): PreTokenizer {
  const run = (k: number, text: string, start: number, end: number, atStart: boolean, emit: Emit): void => {
    if (k === stages.length) emit(text, start, end, atStart);
    else stages[k].split(text, start, end, atStart, (t, a, b, first) => run(k + 1, t, a, b, first, emit));
  };
  return {
    byteLevel: stages.some((s) => s.byteLevel),
    split: (text, start, end, atStart, emit) => run(0, text, start, end, atStart, emit),
  };
}
