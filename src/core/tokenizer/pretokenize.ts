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

/**
 * Encoded pieces keyed by their text, found from (text, start, end) without slicing. Keys and ids are copied into
 * flat typed arrays, with an open-addressed table of where each entry lies in them, so an entry is no object of
 * its own: text with endless new pieces (a large corpus) makes no garbage here, and no key keeps alive the text it
 * was cut from. Pieces are shorter than 65,536 code units, and their ids fewer.
 */
export class PieceCache {
  /** per slot: the key's hash, where its code units and its ids start (keyAt −1: empty), and how many */
  private hashes = new Int32Array(0);
  private keyAt = new Int32Array(0);
  private keyLength = new Uint16Array(0);
  private idsAt = new Int32Array(0);
  private idsLength = new Uint16Array(0);
  /** the keys' code units and the ids, entry after entry */
  private keyUnits = new Uint16Array(0);
  private ids = new Int32Array(0);
  private unitsUsed = 0;
  private idsUsed = 0;
  private size = 0;
  private mask = 0;

  /**
   * Starts small (a tokenizer may encode only a prompt) and doubles up to 2^maxLog2 slots, with room for 8 code
   * units and 4 ids a slot (16 and 8 an entry at the most entries, half the slots); full, it starts over.
   */
  constructor(private readonly maxLog2 = 18) {
    this.resize(1 << Math.min(12, maxLog2));
  }

  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h;
  }

  /** Number of pieces cached. */
  get count(): number {
    return this.size;
  }

  /**
   * Pushes the cached ids of text[start, end) onto `out` and returns true, or returns false when it is not cached;
   * `hash` is PieceCache.hash of the range.
   */
  lookup(text: string, start: number, end: number, hash: number, out: number[]): boolean {
    const slot = this.find(text, start, end, hash);
    if (slot < 0) return false;
    const at = this.idsAt[slot];
    for (let i = at, stop = at + this.idsLength[slot]; i < stop; i++) out.push(this.ids[i]);
    return true;
  }

  /** Caches ids[from..] as the ids of text[start, end). */
  set(text: string, start: number, end: number, hash: number, ids: ArrayLike<number>, from = 0): void {
    const units = end - start;
    const n = ids.length - from;
    if (units > 0xffff || n > 0xffff) return;
    if (
      this.size * 2 >= this.keyAt.length ||
      this.unitsUsed + units > this.keyUnits.length ||
      this.idsUsed + n > this.ids.length
    ) {
      if (this.keyAt.length < 1 << this.maxLog2) this.resize(this.keyAt.length * 2);
      else this.clear(); // full: start over rather than evict, bounding memory on text with endless new words
      if (this.unitsUsed + units > this.keyUnits.length || this.idsUsed + n > this.ids.length) return;
    }
    let slot = hash & this.mask;
    while (this.keyAt[slot] >= 0) slot = (slot + 1) & this.mask;
    this.hashes[slot] = hash;
    this.keyAt[slot] = this.unitsUsed;
    this.keyLength[slot] = units;
    for (let i = 0; i < units; i++) this.keyUnits[this.unitsUsed++] = text.charCodeAt(start + i);
    this.idsAt[slot] = this.idsUsed;
    this.idsLength[slot] = n;
    for (let i = from; i < ids.length; i++) this.ids[this.idsUsed++] = ids[i];
    this.size++;
  }

  /** The slot holding text[start, end), or −1. */
  private find(text: string, start: number, end: number, hash: number): number {
    const len = end - start;
    for (let slot = hash & this.mask; this.keyAt[slot] >= 0; slot = (slot + 1) & this.mask) {
      if (this.hashes[slot] !== hash || this.keyLength[slot] !== len) continue;
      const at = this.keyAt[slot];
      let k = 0;
      while (k < len && this.keyUnits[at + k] === text.charCodeAt(start + k)) k++;
      if (k === len) return slot;
    }
    return -1;
  }

  private clear(): void {
    this.keyAt.fill(-1);
    this.size = 0;
    this.unitsUsed = 0;
    this.idsUsed = 0;
  }

  /** A table of `capacity` slots with the entries moved into it. */
  private resize(capacity: number): void {
    const old = {
      hashes: this.hashes,
      keyAt: this.keyAt,
      keyLength: this.keyLength,
      idsAt: this.idsAt,
      idsLength: this.idsLength,
      keyUnits: this.keyUnits,
      ids: this.ids,
    };
    this.hashes = new Int32Array(capacity);
    this.keyAt = new Int32Array(capacity).fill(-1);
    this.keyLength = new Uint16Array(capacity);
    this.idsAt = new Int32Array(capacity);
    this.idsLength = new Uint16Array(capacity);
    this.keyUnits = new Uint16Array(capacity * 8);
    this.ids = new Int32Array(capacity * 4);
    this.mask = capacity - 1;
    this.size = 0;
    this.unitsUsed = 0;
    this.idsUsed = 0;
    for (let s = 0; s < old.keyAt.length; s++) {
      const at = old.keyAt[s];
      if (at < 0) continue;
      let slot = old.hashes[s] & this.mask;
      while (this.keyAt[slot] >= 0) slot = (slot + 1) & this.mask;
      this.hashes[slot] = old.hashes[s];
      this.keyAt[slot] = this.unitsUsed;
      this.keyLength[slot] = old.keyLength[s];
      this.keyUnits.set(old.keyUnits.subarray(at, at + old.keyLength[s]), this.unitsUsed);
      this.unitsUsed += old.keyLength[s];
      this.idsAt[slot] = this.idsUsed;
      this.idsLength[slot] = old.idsLength[s];
      this.ids.set(old.ids.subarray(old.idsAt[s], old.idsAt[s] + old.idsLength[s]), this.idsUsed);
      this.idsUsed += old.idsLength[s];
      this.size++;
    }
  }
}
