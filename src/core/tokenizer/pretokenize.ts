// GPT-2's pre-tokenizer as a hand-written scanner, and a cache of encoded pieces looked up by
// position in the text. Together they encode without allocating a match array and a substring
// per piece, which is where a regex-driven encoder spends most of its time (in garbage collection).
// The scanner must agree with GPT2_SPLIT_PATTERN exactly; the tests compare both on awkward text.

const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const OTHER = 4;

const letterRe = /^\p{L}$/u;
const numberRe = /^\p{N}$/u;
// JavaScript's \s, which the pattern uses.
const spaceRe = /^\s$/u;

function classifySlow(cp: number): number {
  const c = String.fromCodePoint(cp);
  if (letterRe.test(c)) return LETTER;
  if (numberRe.test(c)) return NUMBER;
  if (spaceRe.test(c)) return SPACE;
  return OTHER;
}

/** Class per BMP code unit, filled on first sight (0 = not yet known). */
const bmpClass = new Uint8Array(0x10000);
const astralClass = new Map<number, number>();

function classAt(text: string, i: number): number {
  const u = text.charCodeAt(i);
  if (u < 0xd800 || u > 0xdfff) {
    const k = bmpClass[u];
    return k !== 0 ? k : (bmpClass[u] = classifySlow(u));
  }
  const cp = text.codePointAt(i)!;
  if (cp <= 0xffff) return OTHER; // a lone surrogate: none of \p{L}, \p{N}, \s
  let k = astralClass.get(cp);
  if (k === undefined) astralClass.set(cp, (k = classifySlow(cp)));
  return k;
}

/** UTF-16 length of the code point at i. */
const width = (text: string, i: number) => {
  const u = text.charCodeAt(i);
  return u >= 0xd800 && u <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
};

/** End of the run of `cls` characters starting at i. */
function runEnd(text: string, i: number, cls: number): number {
  const n = text.length;
  while (i < n && classAt(text, i) === cls) i += width(text, i);
  return i;
}

/**
 * End of the piece that GPT2_SPLIT_PATTERN matches at i, trying its alternatives in order:
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * Every character belongs to one of the four classes, so matches tile the text.
 */
export function gpt2PieceEnd(text: string, i: number): number {
  const n = text.length;
  const u = text.charCodeAt(i);
  if (u === 0x27 && i + 1 < n) {
    const a = text.charCodeAt(i + 1);
    if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return i + 2; // 's 't 'm 'd
    if (i + 2 < n) {
      const b = text.charCodeAt(i + 2);
      // 're 've 'll
      if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return i + 3;
    }
  }
  let start = i;
  if (u === 0x20 && i + 1 < n) {
    const next = classAt(text, i + 1);
    if (next !== SPACE) start = i + 1; // " word", " 42", " ..." take their space along
  }
  const cls = classAt(text, start);
  if (cls !== SPACE) return runEnd(text, start, cls);
  // Whitespace: all of it at the end of text, else all but the last character (that one goes
  // with the word after it), else the single character.
  const end = runEnd(text, i, SPACE);
  if (end === n) return end;
  let last = end - 1;
  if (last > i && (text.charCodeAt(last) & 0xfc00) === 0xdc00) last--; // \s has no astral members, but be exact
  return last > i ? last : end;
}

/** Encoded pieces keyed by their text, found from (text, start, end) without slicing. */
export class PieceCache {
  private keys: (string | undefined)[] = [];
  private hashes = new Int32Array(0);
  private values: (number | number[])[] = [];
  private size = 0;
  private mask = 0;

  /** Starts small (a tokenizer may encode only a prompt) and doubles up to 2^maxLog2 slots. */
  constructor(private readonly maxLog2 = 18) {
    this.resize(1 << Math.min(12, maxLog2));
  }

  private resize(capacity: number): void {
    const { keys, hashes, values } = this;
    this.keys = new Array(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.values = new Array(capacity).fill(0);
    this.mask = capacity - 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== undefined) this.insert(keys[i]!, hashes[i], values[i]);
  }

  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The cached ids (one id as a number), or undefined; `hash` is PieceCache.hash of the range. */
  get(text: string, start: number, end: number, hash: number): number | number[] | undefined {
    const len = end - start;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = this.keys[slot];
      if (key === undefined) return undefined;
      if (this.hashes[slot] === hash && key.length === len && sameText(key, text, start)) return this.values[slot];
    }
  }

  /**
   * Caches the ids of text[start, end). The key is a copy: a substring may share the memory of the whole text it
   * was cut from (V8's sliced strings), and a key must not keep each chunk of a streamed file alive.
   */
  set(text: string, start: number, end: number, hash: number, value: number | number[]): void {
    this.insert(ownCopy(text, start, end), hash, value);
  }

  /** Number of pieces cached. */
  get count(): number {
    return this.size;
  }

  private insert(piece: string, hash: number, value: number | number[]): void {
    if (this.size * 2 >= this.keys.length) {
      if (this.keys.length < 1 << this.maxLog2) this.resize(this.keys.length * 2);
      else {
        // Full: start over rather than evict, bounding memory on text with endless new words.
        this.keys.fill(undefined);
        this.values.fill(0);
        this.size = 0;
      }
    }
    let slot = hash & this.mask;
    while (this.keys[slot] !== undefined) slot = (slot + 1) & this.mask;
    this.keys[slot] = piece;
    this.hashes[slot] = hash;
    this.values[slot] = value;
    this.size++;
  }
}

/** Code units gathered for a copy, grown as needed. */
let copyBuffer = new Uint16Array(256);

/** text[start, end) as a new string that shares no memory with text. */
function ownCopy(text: string, start: number, end: number): string {
  const n = end - start;
  if (copyBuffer.length < n) copyBuffer = new Uint16Array(n * 2);
  for (let i = 0; i < n; i++) copyBuffer[i] = text.charCodeAt(start + i);
  return String.fromCharCode.apply(null, copyBuffer.subarray(0, n) as unknown as number[]);
}

function sameText(key: string, text: string, start: number): boolean {
  for (let k = 0; k < key.length; k++) if (key.charCodeAt(k) !== text.charCodeAt(start + k)) return false;
  return true;
}
