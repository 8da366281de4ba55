// The two tables BPE training lives on: pair statistics (count and the words holding each pair)
// and a max-heap of pairs by count. Typed arrays and an open-addressing hash keep millions of
// updates cheap; a Map keyed by pair would allocate on every lookup.

const grow = <T extends Int32Array | Float64Array>(a: T, size: number): T => {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
};

export class PairTable {
  /** pair index -> its two symbols and its count over all words (weighted by word frequency) */
  left = new Int32Array(1024);
  right = new Int32Array(1024);
  count = new Float64Array(1024);
  /** pair index -> last merge that raised its count (lets a merge list the pairs it raised once) */
  stamp = new Int32Array(1024).fill(-1);
  size = 0;
  private words: number[][] = [];
  private lastWord = new Int32Array(1024).fill(-1);
  private slots: Int32Array;
  private mask: number;

  constructor(expectedPairs: number) {
    let capacity = 1024;
    while (capacity < expectedPairs * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  private find(a: number, b: number): number {
    let i = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
    for (;;) {
      const p = this.slots[i];
      if (p === -1 || (this.left[p] === a && this.right[p] === b)) return i;
      i = (i + 1) & this.mask;
    }
  }

  private create(slot: number, a: number, b: number): number {
    const p = this.size++;
    if (p === this.left.length) {
      const n = p * 2;
      this.left = grow(this.left, n);
      this.right = grow(this.right, n);
      this.count = grow(this.count, n);
      this.stamp = grow(this.stamp, n).fill(-1, p);
      this.lastWord = grow(this.lastWord, n).fill(-1, p);
    }
    this.left[p] = a;
    this.right[p] = b;
    this.count[p] = 0;
    this.words.push([]);
    this.slots[slot] = p;
    if (this.size * 2 > this.slots.length) this.rehash();
    return p;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    this.mask = this.slots.length - 1;
    for (let p = 0; p < this.size; p++) this.slots[this.find(this.left[p], this.right[p])] = p;
  }

  /** Adds delta to the pair's count; a rise records word w as holding it. Returns the pair index. */
  add(a: number, b: number, delta: number, w: number): number {
    const slot = this.find(a, b);
    const p = this.slots[slot] === -1 ? this.create(slot, a, b) : this.slots[slot];
    this.count[p] += delta;
    if (delta > 0 && this.lastWord[p] !== w) {
      this.lastWord[p] = w;
      this.words[p].push(w);
    }
    return p;
  }

  /** The words that held the pair (some may no longer), forgetting them: the pair is being merged away. */
  takeWords(p: number): number[] {
    const w = this.words[p];
    this.words[p] = [];
    return w;
  }
}

/** Max-heap of pairs: larger count first, then the smaller (left, right) ids, as Hugging Face orders ties. */
export class PairHeap {
  private count = new Float64Array(1024);
  private left = new Int32Array(1024);
  private right = new Int32Array(1024);
  private pair = new Int32Array(1024);
  size = 0;
  /** count stored with the entry popTop last returned */
  lastCount = 0;

  private before(i: number, j: number): boolean {
    if (this.count[i] !== this.count[j]) return this.count[i] > this.count[j];
    if (this.left[i] !== this.left[j]) return this.left[i] < this.left[j];
    return this.right[i] < this.right[j];
  }

  private swap(i: number, j: number): void {
    const c = this.count[i];
    this.count[i] = this.count[j];
    this.count[j] = c;
    let t = this.left[i];
    this.left[i] = this.left[j];
    this.left[j] = t;
    t = this.right[i];
    this.right[i] = this.right[j];
    this.right[j] = t;
    t = this.pair[i];
    this.pair[i] = this.pair[j];
    this.pair[j] = t;
  }

  push(count: number, left: number, right: number, pair: number): void {
    if (this.size === this.count.length) {
      const n = this.size * 2;
      this.count = grow(this.count, n);
      this.left = grow(this.left, n);
      this.right = grow(this.right, n);
      this.pair = grow(this.pair, n);
    }
    let i = this.size++;
    this.count[i] = count;
    this.left[i] = left;
    this.right[i] = right;
    this.pair[i] = pair;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top entry; returns its pair index and leaves its count in lastCount. */
  popTop(): number {
    const top = this.pair[0];
    this.lastCount = this.count[0];
    const last = --this.size;
    if (last > 0) {
      this.swap(0, last);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < last && this.before(l, m)) m = l;
        if (r < last && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
