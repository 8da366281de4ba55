// Normalizers of a tokenizer.json, applied to each stretch of text between added tokens as Hugging Face does:
// NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace (string or regex), Strip and Sequence.
import { readStages, type FileField } from './errors.ts';
import { translateOniguruma } from './oniguruma.ts';

/** Where a stretch of text sits: a continuation of text already encoded skips what only a start gets. */
export interface Position {
  /** the stretch starts the text (not after an added token, not a later chunk of a streamed file) */
  atStart: boolean;
  /** the stretch continues text cut off in the middle (a streamed chunk after the first) */
  continued: boolean;
}

export interface Normalizer {
  normalize(text: string, at: Position): string;
  /**
   * Whether normalizing two stretches one after the other gives what normalizing them joined gives, when the
   * cut falls before a space that follows a letter or digit (how streamed text is cut).
   */
  readonly cuttable: boolean;
}

type Json = Record<string, unknown>;

const FORMS = ['NFC', 'NFD', 'NFKC', 'NFKD'] as const;

/** A regex or a plain string to find: Hugging Face's { Regex } or { String } pattern. */
export function patternOf(json: unknown, field: FileField): { regex: RegExp; isString: boolean; text: string } {
  const p = json as { Regex?: unknown; String?: unknown } | null;
  if (p && typeof p.String === 'string')
    return {
      regex: new RegExp(p.String.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'gu'),
      isString: true,
      text: p.String,
    };
  if (p && typeof p.Regex === 'string') {
    try {
      return { regex: new RegExp(translateOniguruma(p.Regex).source, 'gu'), isString: false, text: p.Regex };
    } catch (e) {
      throw field.at('Regex').error((e as Error).message);
    }
  }
  throw field.error('a pattern must be {"String": ...} or {"Regex": ...}');
}

export function normalizerFromJson(json: unknown, field: FileField): Normalizer | null {
  if (json === null || json === undefined) return null;
  const n = json as Json;
  const type = n.type;
  if (FORMS.includes(type as (typeof FORMS)[number])) {
    const form = type as string;
    return { normalize: (s) => s.normalize(form), cuttable: true };
  }
  switch (type) {
    case 'Lowercase':
      return { normalize: (s) => s.toLowerCase(), cuttable: true };
    case 'Prepend': {
      const prepend = n.prepend;
      if (typeof prepend !== 'string') throw field.at('prepend').error('must be a string');
      // Hugging Face prepends to every non-empty stretch; a streamed chunk's continuation is no new stretch.
      return { normalize: (s, at) => (s && !at.continued ? prepend + s : s), cuttable: true };
    }
    case 'Replace': {
      const { regex, isString, text } = patternOf(n.pattern, field.at('pattern'));
      const content = n.content ?? '';
      if (typeof content !== 'string') throw field.at('content').error('must be a string');
      // A plain string is found the same in two stretches as in one unless it spans a letter-then-space cut.
      const cuttable = isString && !/[\p{L}\p{N}] /u.test(text);
      return isString
        ? { normalize: (s) => s.replaceAll(text, content), cuttable }
        : { normalize: (s) => s.replace(regex, () => content), cuttable };
    }
    case 'Strip': {
      const left = n.strip_left === true;
      const right = n.strip_right === true;
      return {
        normalize(s, at) {
          if (left && !at.continued) s = s.trimStart();
          return right ? s.trimEnd() : s;
        },
        // A cut falls after a letter and before a space: the right side never ends a stretch there.
        cuttable: true,
      };
    }
    case 'Sequence': {
      const parts = readStages(n.normalizers, field.at('normalizers'), normalizerFromJson);
      return {
        normalize: (s, at) => parts.reduce((t, p) => p.normalize(t, at), s),
        cuttable: parts.every((p) => p.cuttable),
      };
    }
    default:
      throw field
        .at('type')
        .error(
          `the normalizer ${JSON.stringify(type)} is not supported (Hearth reads ${[...FORMS, 'Lowercase', 'Prepend', 'Replace', 'Strip', 'Sequence'].join(', ')})`,
        );
  }
}
