// Added tokens (special ones such as <|begin_of_text|> and ordinary ones such as Gemma's "\n\n"): found in text
// before anything else splits it, leftmost and longest first, as the Rust library's AddedVocabulary does, with
// `single_word` (only between non-word characters), `lstrip`/`rstrip` (the token takes the whitespace beside it)
// and `normalized` (matched in normalized text instead of the original).
import type { FileField } from './errors.ts';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

export function addedTokensFromJson(json: unknown, field: FileField): AddedToken[] {
  if (json === undefined || json === null) return [];
  if (!Array.isArray(json)) throw field.error('must be a list');
  return json.map((t, k) => {
    const f = field.at(k);
    const a = t as Record<string, unknown>;
    if (typeof a?.content !== 'string' || a.content === '') throw f.at('content').error('must be a non-empty string');
    if (!Number.isInteger(a.id) || (a.id as number) < 0) throw f.at('id').error('must be an id');
    const special = a.special === true;
    return {
      id: a.id as number,
      content: a.content,
      special,
      singleWord: a.single_word === true,
      lstrip: a.lstrip === true,
      rstrip: a.rstrip === true,
      // tokenizer.json always says; the Rust library's default is the opposite of special.
      normalized: typeof a.normalized === 'boolean' ? a.normalized : !special,
    };
  });
}

interface TrieNode {
  next: Map<number, TrieNode>;
  token: AddedToken | null;
}

const WORD_CHAR = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const SPACE = /^\p{White_Space}$/u;

function charBefore(text: string, i: number): string {
  const c = text.charCodeAt(i - 1);
  return (c & 0xfc00) === 0xdc00 && i >= 2 ? text.slice(i - 2, i) : text[i - 1];
}

/** Finds one set of added tokens in text (a trie over UTF-16 units; most positions are skipped by first unit). */
export class AddedTokenMatcher {
  private readonly root: TrieNode = { next: new Map(), token: null };
  private readonly firstUnits = new Uint8Array(0x10000);
  readonly empty: boolean;

  /** `contentOf` gives the text to find for each token (normalized ones are found as normalized). */
  constructor(tokens: readonly AddedToken[], contentOf: (t: AddedToken) => string) {
    for (const t of tokens) {
      const content = contentOf(t);
      if (content === '') continue;
      let node = this.root;
      for (let i = 0; i < content.length; i++) {
        const u = content.charCodeAt(i);
        let child = node.next.get(u);
        if (!child) node.next.set(u, (child = { next: new Map(), token: null }));
        node = child;
      }
      node.token ??= t;
      this.firstUnits[content.charCodeAt(0)] = 1;
    }
    this.empty = this.root.next.size === 0;
  }

  /**
   * Calls onText for each stretch between tokens and onToken for each token found, in order. Whitespace that
   * an lstrip/rstrip token takes is in neither.
   */
  split(text: string, onText: (start: number, end: number) => void, onToken: (t: AddedToken) => void): void {
    if (this.empty) {
      if (text.length) onText(0, text.length);
      return;
    }
    let done = 0; // text before this is passed on
    for (let i = 0; i < text.length;) {
      if (!this.firstUnits[text.charCodeAt(i)]) {
        i++;
        continue;
      }
      let node: TrieNode | undefined = this.root;
      let found: AddedToken | null = null;
      let stop = i;
      for (let j = i; j < text.length; j++) {
        node = node.next.get(text.charCodeAt(j));
        if (!node) break;
        if (node.token) {
          found = node.token;
          stop = j + 1;
        }
      }
      if (!found) {
        i++;
        continue;
      }
      let start = i;
      if (found.singleWord) {
        const wordBefore = start > 0 && WORD_CHAR.test(charBefore(text, start));
        const wordAfter = stop < text.length && WORD_CHAR.test(String.fromCodePoint(text.codePointAt(stop)!));
        if (wordBefore || wordAfter) {
          // Not a word of its own: the search goes on after it, as the Rust library's leftmost-longest scan does.
          i = stop;
          continue;
        }
      }
      if (found.lstrip) {
        while (start > done && SPACE.test(charBefore(text, start))) start -= charBefore(text, start).length;
      }
      if (found.rstrip) {
        while (stop < text.length) {
          const c = String.fromCodePoint(text.codePointAt(stop)!);
          if (!SPACE.test(c)) break;
          stop += c.length;
        }
      }
      if (done < start) onText(done, start);
      onToken(found);
      done = i = stop;
    }
    if (done < text.length) onText(done, text.length);
  }
}
