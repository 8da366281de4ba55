// A JSON parser for untrusted headers. JSON.parse keeps the last of two equal keys without a word,
// which would let a safetensors file name one tensor twice and have readers disagree on which one
// counts; this parser refuses duplicate keys, bounds nesting depth (no stack overflow on "[[[[...")
// and builds objects without a prototype (no "__proto__" games).

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const MAX_DEPTH = 64;

export function parseStrictJson(text: string): JsonValue {
  let pos = 0;

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at character ${pos}`);
  };
  const skipSpace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };

  const parseString = (): string => {
    const start = pos; // at the opening quote
    pos++;
    let hasEscape = false;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        hasEscape = true;
        pos++;
      }
      pos++;
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    const literal = text.slice(start, pos);
    // JSON.parse does the escape rules exactly; only strings with escapes need it.
    return hasEscape ? (JSON.parse(literal) as string) : literal.slice(1, -1);
  };

  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const parseNumber = (): number => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m || m[0].length === 0) fail('bad number');
    pos += m![0].length;
    return Number(m![0]);
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj = Object.create(null) as JsonObject;
      const seen = new Set<string>();
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('expected a key');
        const key = parseString();
        if (seen.has(key)) fail(`duplicate key "${key}"`);
        seen.add(key);
        skipSpace();
        if (text[pos] !== ':') fail('expected ":"');
        pos++;
        obj[key] = parseValue(depth + 1);
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return obj;
        } else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const arr: JsonValue[] = [];
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return arr;
        } else fail('expected "," or "]"');
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) return ((pos += 4), true);
    if (text.startsWith('false', pos)) return ((pos += 5), false);
    if (text.startsWith('null', pos)) return ((pos += 4), null);
    return parseNumber();
  };

  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) fail('unexpected text after the value');
  return value;
}
