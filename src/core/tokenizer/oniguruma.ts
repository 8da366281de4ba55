// Regexes in tokenizer.json files are written for Oniguruma (the Rust library's engine, Ruby syntax). This
// translates them into JavaScript regexes ('u' flag) that match exactly the same text, and refuses any construct
// it cannot translate exactly rather than splitting differently. What differs, and how it is bridged:
// - \s, \d, \w, \h and \b mean Unicode White_Space, Nd, word characters and hex digits in Oniguruma;
// - "." never matches "\n", and "^"/"$" are line anchors;
// - (?i:...) folds case as Unicode does ("s" also matches "ſ", "k" the Kelvin sign);
// - atomic groups (?>X) and possessive quantifiers X*+ X++ X?+ become (?=(X))\k<n>, which never backtracks into X;
// - X{n,m}+ is X{n,m} repeated, as Ruby syntax reads it;
// - capture groups become non-capturing (splitting uses only where matches are).

export interface TranslatedRegex {
  /** source for new RegExp(source, 'gu') */
  source: string;
  /** whether the regex looks behind its match (then a match depends on text before where the search starts) */
  looksBehind: boolean;
}

// Oniguruma's Unicode word characters, as tokenizers.js writes them for the same engine.
const WORD_IN_CLASS = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\u00B2\u00B3\u00B9\u00BC-\u00BE`;
const WORD = `[${WORD_IN_CLASS}]`;
const NOT_WORD = `[^${WORD_IN_CLASS}]`;
const WORD_BOUNDARY = `(?:(?<!${WORD})(?=${WORD})|(?<=${WORD})(?!${WORD}))`;
const NOT_WORD_BOUNDARY = `(?:(?<!${WORD})(?!${WORD})|(?<=${WORD})(?=${WORD}))`;
const HEX_IN_CLASS = '0-9A-Fa-f';

/** Escapes outside a class: what each becomes, and whether it looks behind. */
const ESCAPES: Record<string, [string, boolean]> = {
  s: [String.raw`\p{White_Space}`, false],
  S: [String.raw`\P{White_Space}`, false],
  d: [String.raw`\p{Nd}`, false],
  D: [String.raw`\P{Nd}`, false],
  w: [WORD, false],
  W: [NOT_WORD, false],
  h: [`[${HEX_IN_CLASS}]`, false],
  H: [`[^${HEX_IN_CLASS}]`, false],
  b: [WORD_BOUNDARY, true],
  B: [NOT_WORD_BOUNDARY, true],
  A: [String.raw`(?<![\s\S])`, true],
  z: [String.raw`(?![\s\S])`, false],
  Z: [String.raw`(?=\n?(?![\s\S]))`, false],
  n: [String.raw`\n`, false],
  r: [String.raw`\r`, false],
  t: [String.raw`\t`, false],
  f: [String.raw`\f`, false],
  v: [String.raw`\v`, false],
  a: [String.raw`\x07`, false],
  e: [String.raw`\x1B`, false],
};

/** The same escapes inside a class (set-valued ones only where a class can hold them). */
const CLASS_ESCAPES: Record<string, string> = {
  s: String.raw`\p{White_Space}`,
  S: String.raw`\P{White_Space}`,
  d: String.raw`\p{Nd}`,
  D: String.raw`\P{Nd}`,
  w: WORD_IN_CLASS,
  h: HEX_IN_CLASS,
  n: String.raw`\n`,
  r: String.raw`\r`,
  t: String.raw`\t`,
  f: String.raw`\f`,
  v: String.raw`\v`,
  a: String.raw`\x07`,
  e: String.raw`\x1B`,
  b: String.raw`\x08`,
};

const SYNTAX = new Set('^$\\.*+?()[]{}|/');

/** A Unicode property name as JavaScript spells it: categories and binary properties as is, scripts with Script=. */
function propertyName(name: string): string {
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\p{${candidate}}`, 'u');
      return candidate;
    } catch {
      // try the next spelling
    }
  }
  throw new Error(`unknown Unicode property \\p{${name}}`);
}

const codePointAt = (s: string, i: number) => String.fromCodePoint(s.codePointAt(i)!);

/** Every BMP character matching `ch` when case is folded, as JavaScript's /ch/iu (Unicode simple folding) decides. */
const foldCache = new Map<string, string[]>();
function caseVariants(ch: string): string[] {
  let variants = foldCache.get(ch);
  if (variants) return variants;
  const re = new RegExp(`^${escapeLiteral(ch)}$`, 'iu');
  const candidates = new Set([ch, ch.toLowerCase(), ch.toUpperCase()]);
  // Characters whose folding is not their lower or upper case (ſ, the Kelvin and Angstrom signs, ...).
  for (let cp = 0x80; cp < 0x10000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCharCode(cp);
    if (re.test(c)) candidates.add(c);
  }
  variants = [...candidates].filter((c) => [...c].length === 1 && re.test(c));
  foldCache.set(ch, variants);
  return variants;
}

const escapeLiteral = (ch: string) => (SYNTAX.has(ch) || ch === '-' ? `\\${ch}` : ch);
const escapeInClass = (ch: string) => (SYNTAX.has(ch) || ch === '-' ? `\\${ch}` : ch);

/** A literal character as an atom, with its case variants under (?i). */
function literal(ch: string, fold: boolean): string {
  if (!fold || ch.toLowerCase() === ch.toUpperCase()) return ch === '-' ? '-' : escapeLiteral(ch);
  const variants = caseVariants(ch);
  return variants.length > 1 ? `[${variants.map(escapeInClass).join('')}]` : escapeLiteral(ch);
}

interface Group {
  /** where the group starts in the output */
  start: number;
  fold: boolean;
  /** name of the capture that emulates an atomic group */
  atomic: string | null;
}

export function translateOniguruma(pattern: string): TranslatedRegex {
  let out = '';
  let i = 0;
  let atomStart = -1;
  let fold = false;
  let looksBehind = false;
  let atomicCount = 0;
  const groups: Group[] = [];
  const fail = (what: string, at = i): never => {
    throw new Error(`cannot translate ${what} at offset ${at} of the regex ${JSON.stringify(pattern)}`);
  };
  const emit = (atom: string) => {
    atomStart = out.length;
    out += atom;
  };
  const atomicName = () => `hearthAtomic${atomicCount++}`;

  /** \p{..}, \x{..}, \xHH, \uHHHH at i (pointing at the backslash); returns [text, length] or null. */
  const braced = (): [string, number] | null => {
    const m = /^\\([pP])\{(\^?)([A-Za-z_ =]+)\}/.exec(pattern.slice(i));
    if (m) {
      if (fold) fail('a Unicode property inside (?i:...)');
      const negated = (m[1] === 'P') !== (m[2] === '^');
      return [`\\${negated ? 'P' : 'p'}{${propertyName(m[3])}}`, m[0].length];
    }
    const x = /^\\x\{([0-9A-Fa-f]{1,8})\}|^\\x([0-9A-Fa-f]{2})|^\\u([0-9A-Fa-f]{4})/.exec(pattern.slice(i));
    if (x) {
      const cp = parseInt(x[1] ?? x[2] ?? x[3], 16);
      if (cp > 0x10ffff) fail(`the code point ${x[0]}`);
      return [`\\u{${cp.toString(16)}}`, x[0].length];
    }
    return null;
  };

  const parseClass = (): string => {
    const start = i;
    i++; // [
    let negated = false;
    if (pattern[i] === '^') {
      negated = true;
      i++;
    }
    let body = '';
    let first = true;
    // ASCII-letter members, for adding their case variants under (?i)
    for (;;) {
      if (i >= pattern.length) fail('an unterminated character class', start);
      const ch = codePointAt(pattern, i);
      if (ch === ']' && !first) {
        i++;
        break;
      }
      first = false;
      if (ch === '[') fail('a nested character class or POSIX bracket');
      if (ch === '&' && pattern[i + 1] === '&') fail('a character class intersection (&&)');
      if (ch === '\\') {
        const b = braced();
        if (b) {
          body += b[0];
          i += b[1];
          continue;
        }
        const next = codePointAt(pattern, i + 1);
        const known = CLASS_ESCAPES[next];
        if (known !== undefined) body += known;
        else if (/[A-Za-z0-9]/.test(next)) fail(`the escape \\${next} in a character class`);
        else body += escapeInClass(next);
        i += 1 + next.length;
        continue;
      }
      if (ch === '-') {
        // A range needs a member before and after; anywhere else "-" is itself.
        const atEnd = pattern[i + 1] === ']';
        body += body === '' || atEnd ? '\\-' : '-';
        i++;
        continue;
      }
      body += escapeInClass(ch);
      i += ch.length;
    }
    if (fold) {
      // Add the case variants of every letter the class holds (it holds no property escapes: refused above).
      const member = new RegExp(`^[${body}]$`, 'u');
      const extra = new Set<string>();
      for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')
        if (member.test(c)) for (const v of caseVariants(c)) if (!member.test(v)) extra.add(v);
      for (const v of extra) body += escapeInClass(v);
      for (const m of body.matchAll(/[^\p{ASCII}]/gu)) {
        for (const v of caseVariants(m[0])) if (!member.test(v)) body += escapeInClass(v);
      }
    }
    return negated ? `[^${body}]` : `[${body}]`;
  };

  /** A quantifier just read as `q` (already at its end): handles the lazy and possessive forms after it. */
  const quantify = (q: string, interval: boolean) => {
    if (atomStart < 0) fail(`a quantifier with nothing to repeat`);
    const next = pattern[i];
    if (next === '+') {
      i++;
      const atom = out.slice(atomStart);
      if (interval) {
        // Ruby syntax: X{n,m}+ is (X{n,m})+, not possessive.
        out = `${out.slice(0, atomStart)}(?:${atom}${q})+`;
      } else {
        const name = atomicName();
        out = `${out.slice(0, atomStart)}(?=(?<${name}>${atom}${q}))\\k<${name}>`;
      }
    } else if (next === '?') {
      i++;
      out += q + '?';
    } else {
      out += q;
    }
    atomStart = -1;
    if (i < pattern.length && '*+?{'.includes(pattern[i])) fail('a quantifier after a quantifier');
  };

  while (i < pattern.length) {
    const ch = codePointAt(pattern, i);
    switch (ch) {
      case '\\': {
        const b = braced();
        if (b) {
          emit(b[0]);
          i += b[1];
          break;
        }
        if (i + 1 >= pattern.length) fail('a trailing backslash');
        const next = codePointAt(pattern, i + 1);
        const known = ESCAPES[next];
        if (known) {
          emit(known[0]);
          looksBehind ||= known[1];
        } else if (/[A-Za-z0-9]/.test(next)) {
          fail(`the escape \\${next}`);
        } else {
          emit(literal(next, fold));
        }
        i += 1 + next.length;
        break;
      }
      case '[':
        emit(parseClass());
        break;
      case '.':
        emit('[^\\n]');
        i++;
        break;
      case '^':
        emit(String.raw`(?:(?<![\s\S])|(?<=\n))`);
        looksBehind = true;
        i++;
        break;
      case '$':
        emit(String.raw`(?:(?=\n)|(?![\s\S]))`);
        i++;
        break;
      case '|':
        out += '|';
        atomStart = -1;
        i++;
        break;
      case '(': {
        const rest = pattern.slice(i);
        const group: Group = { start: out.length, fold, atomic: null };
        let m: RegExpExecArray | null;
        if (rest.startsWith('(?#')) {
          const end = pattern.indexOf(')', i);
          if (end < 0) fail('an unterminated comment');
          i = end + 1;
          break;
        } else if ((m = /^\(\?([imx]*)(?:-([imx]*))?([:)])/.exec(rest))) {
          if (/[mx]/.test(m[1] + (m[2] ?? ''))) fail(`the option group ${m[0]}`);
          const on: boolean = m[1].includes('i') ? true : m[2]?.includes('i') ? false : fold;
          i += m[0].length;
          if (m[3] === ')') {
            // (?i) applies to the rest of the enclosing group.
            fold = on;
            break;
          }
          out += '(?:';
          fold = on;
        } else if ((m = /^\((\?<=|\?<!)/.exec(rest))) {
          looksBehind = true;
          out += m[0];
          i += m[0].length;
        } else if ((m = /^\((\?=|\?!)/.exec(rest))) {
          out += m[0];
          i += m[0].length;
        } else if (rest.startsWith('(?>')) {
          group.atomic = atomicName();
          out += `(?=(?<${group.atomic}>`;
          i += 3;
        } else if ((m = /^\(\?(?:P?<[A-Za-z_][A-Za-z0-9_]*>|'[A-Za-z_][A-Za-z0-9_]*')/.exec(rest))) {
          out += '(?:';
          i += m[0].length;
        } else if (rest.startsWith('(?')) {
          fail(`the group ${rest.slice(0, 3)}`);
        } else {
          out += '(?:';
          i++;
        }
        groups.push(group);
        atomStart = -1;
        break;
      }
      case ')': {
        const group = groups.pop();
        if (!group) fail('an unmatched ")"');
        out += group!.atomic ? `))\\k<${group!.atomic}>` : ')';
        atomStart = group!.start;
        fold = group!.fold;
        i++;
        break;
      }
      case '*':
      case '+':
      case '?':
        i++;
        quantify(ch, false);
        break;
      case '{': {
        const m = /^\{(\d*)(?:(,)(\d*))?\}/.exec(pattern.slice(i));
        if (!m || (m[1] === '' && (m[2] === undefined || m[3] === ''))) {
          emit('\\{');
          i++;
          break;
        }
        i += m[0].length;
        quantify(`{${m[1] || '0'}${m[2] ?? ''}${m[3] ?? ''}}`, true);
        break;
      }
      case ']':
      case '}':
        emit(`\\${ch}`);
        i++;
        break;
      default:
        emit(literal(ch, fold));
        i += ch.length;
    }
  }
  if (groups.length) fail('an unclosed "("', pattern.length);
  try {
    new RegExp(out, 'gu');
  } catch (e) {
    throw new Error(
      `cannot translate the regex ${JSON.stringify(pattern)}: JavaScript refuses its translation (${(e as Error).message})`,
      { cause: e },
    );
  }
  return { source: out, looksBehind };
}
