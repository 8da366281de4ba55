// Token text -> id, as an open-addressing hash table looked up by a range of a string, or by two ranges joined,
// without slicing or concatenating: reading 500,000 merges from a tokenizer.json makes 1.5 million lookups, and
// through a Map each would hash a freshly made string.

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function hashRange(text: string, start: number, end: number, h: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

export class TokenTable {
  private readonly keys: (string | undefined)[];
  private readonly ids: Int32Array;
  private readonly hashes: Int32Array;
  private readonly mask: number;
  size = 0;

  constructor(expected: number) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Array(capacity).fill(undefined);
    this.ids = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  /** Adds a token; a second id for the same text replaces the first (as a JSON object's last key would). */
  set(token: string, id: number): void {
    const h = hashRange(token, 0, token.length, FNV_OFFSET);
    let slot = h & this.mask;
    for (;;) {
      const key = this.keys[slot];
      if (key === undefined) break;
      if (this.hashes[slot] === h && key === token) {
        this.ids[slot] = id;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
    if ((this.size + 1) * 2 > this.keys.length) throw new Error('TokenTable: more tokens than it was made for');
    this.keys[slot] = token;
    this.hashes[slot] = h;
    this.ids[slot] = id;
    this.size++;
  }

  /** The id of a[aStart, aEnd) followed by b[bStart, bEnd), or -1. */
  getJoined(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
    const h = hashRange(b, bStart, bEnd, hashRange(a, aStart, aEnd, FNV_OFFSET));
    const length = aEnd - aStart + (bEnd - bStart);
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = this.keys[slot];
      if (key === undefined) return -1;
      if (this.hashes[slot] !== h || key.length !== length) continue;
      let same = true;
      const split = aEnd - aStart;
      for (let k = 0; k < split && same; k++) same = key.charCodeAt(k) === a.charCodeAt(aStart + k);
      for (let k = split; k < length && same; k++) same = key.charCodeAt(k) === b.charCodeAt(bStart + k - split);
      if (same) return this.ids[slot];
    }
  }

  /** The id of text[start, end), or -1. */
  getRange(text: string, start: number, end: number): number {
    return this.getJoined(text, start, end, '', 0, 0);
  }

  get(token: string): number | undefined {
    const id = this.getRange(token, 0, token.length);
    return id < 0 ? undefined : id;
  }

  has(token: string): boolean {
    return this.getRange(token, 0, token.length) >= 0;
  }

  /** Every (token, id), in no particular order. */
  *entries(): IterableIterator<[string, number]> {
    for (let slot = 0; slot < this.keys.length; slot++) {
      const key = this.keys[slot];
      if (key !== undefined) yield [key, this.ids[slot]];
    }
  }
}
