// Byte-pair merging of one pre-tokenized piece, with Hugging Face's rule: repeatedly merge the
// adjacent pair whose merge comes first in the merge list, leftmost first among equal pairs.

const NONE = 0x7fffffff;

/**
 * (id, id) -> merge rank, as an open-addressing hash table on typed arrays: a Map keyed by
 * a * 2^k + b needs heap-number keys and was the slowest part of both loading and encoding.
 */
export class PairRanks {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly rank: Int32Array;
  private readonly mask: number;
  constructor(expected: number) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.left = new Int32Array(capacity).fill(-1);
    this.right = new Int32Array(capacity);
    this.rank = new Int32Array(capacity);
    this.mask = capacity - 1;
  }
  private slot(a: number, b: number): number {
    let i = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
    while (this.left[i] !== -1 && (this.left[i] !== a || this.right[i] !== b)) i = (i + 1) & this.mask;
    return i;
  }
  /** Keeps the first rank given for a pair, as a merge list read in order should. */
  setIfAbsent(a: number, b: number, rank: number): void {
    const i = this.slot(a, b);
    if (this.left[i] !== -1) return;
    this.left[i] = a;
    this.right[i] = b;
    this.rank[i] = rank;
  }
  /** The pair's rank, or NONE (a large number) when the pair is no merge. */
  get(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.left[i] === -1 ? NONE : this.rank[i];
  }
}

export interface MergeTable {
  readonly rankOf: PairRanks;
  /** rank -> id of the merged token */
  readonly mergedId: Int32Array;
}

// Scratch space grows to the longest piece seen and is reused.
let ids = new Int32Array(256);
let ranks = new Int32Array(256);

function ensure(n: number): void {
  if (ids.length >= n) return;
  ids = new Int32Array(n * 2);
  ranks = new Int32Array(n * 2);
}

/** Below this length the quadratic scan beats the heap (no allocation, tiny constants). */
const HEAP_ABOVE = 96;

/**
 * Merges `n` starting ids held in `start` (one per byte) and returns the final ids.
 * `out` receives them; the count is returned.
 */
export function mergePiece(table: MergeTable, start: ArrayLike<number>, n: number, out: number[]): number {
  if (n > HEAP_ABOVE) return mergeWithHeap(table, start, n, out);
  ensure(n);
  const { rankOf, mergedId } = table;
  for (let i = 0; i < n; i++) ids[i] = start[i];
  for (let i = 0; i + 1 < n; i++) ranks[i] = rankOf.get(ids[i], ids[i + 1]);
  while (n > 1) {
    let best = 0;
    let bestRank = ranks[0];
    for (let i = 1; i + 1 < n; i++) {
      if (ranks[i] < bestRank) {
        bestRank = ranks[i];
        best = i;
      }
    }
    if (bestRank === NONE) break;
    ids[best] = mergedId[bestRank];
    ids.copyWithin(best + 1, best + 2, n);
    ranks.copyWithin(best + 1, best + 2, n - 1);
    n--;
    if (best > 0) ranks[best - 1] = rankOf.get(ids[best - 1], ids[best]);
    if (best + 1 < n) ranks[best] = rankOf.get(ids[best], ids[best + 1]);
  }
  for (let i = 0; i < n; i++) out.push(ids[i]);
  return n;
}

/**
 * The same merging in O(n log n) for long pieces (runs of spaces, text without separators):
 * a linked list of symbols and a heap of (rank, position), stale entries skipped when popped.
 */
function mergeWithHeap(table: MergeTable, start: ArrayLike<number>, n: number, out: number[]): number {
  const { rankOf, mergedId } = table;
  const sym = Int32Array.from({ length: n }, (_, i) => start[i]);
  const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const rankAt = new Int32Array(n).fill(NONE);
  const heap = new MinHeap(n * 3);
  for (let i = 0; i + 1 < n; i++) {
    const r = rankOf.get(sym[i], sym[i + 1]);
    if (r !== NONE) {
      rankAt[i] = r;
      heap.push(r, i);
    }
  }
  const refresh = (p: number) => {
    const q = next[p];
    const r = q < 0 ? NONE : rankOf.get(sym[p], sym[q]);
    rankAt[p] = r;
    if (r !== NONE) heap.push(r, p);
  };
  while (heap.size > 0) {
    const r = heap.topRank();
    const p = heap.pop();
    if (sym[p] < 0 || rankAt[p] !== r) continue; // stale: this pair changed since it was pushed
    const q = next[p];
    sym[p] = mergedId[r];
    sym[q] = -1;
    rankAt[q] = NONE;
    next[p] = next[q];
    if (next[q] >= 0) prev[next[q]] = p;
    if (prev[p] >= 0) refresh(prev[p]);
    refresh(p);
  }
  let count = 0;
  for (let p = 0; p >= 0; p = next[p]) {
    out.push(sym[p]);
    count++;
  }
  return count;
}

/** Binary min-heap of (rank, position), ordered by rank then position. */
export class MinHeap {
  private rank: Int32Array;
  private pos: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.rank = new Int32Array(Math.max(capacity, 4));
    this.pos = new Int32Array(Math.max(capacity, 4));
  }
  private less(i: number, j: number): boolean {
    return this.rank[i] < this.rank[j] || (this.rank[i] === this.rank[j] && this.pos[i] < this.pos[j]);
  }
  private swap(i: number, j: number): void {
    const r = this.rank[i];
    this.rank[i] = this.rank[j];
    this.rank[j] = r;
    const p = this.pos[i];
    this.pos[i] = this.pos[j];
    this.pos[j] = p;
  }
  push(rank: number, pos: number): void {
    if (this.size === this.rank.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.rank = grow(this.rank);
      this.pos = grow(this.pos);
    }
    let i = this.size++;
    this.rank[i] = rank;
    this.pos[i] = pos;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  topRank(): number {
    return this.rank[0];
  }
  /** Removes the smallest entry and returns its position. */
  pop(): number {
    const top = this.pos[0];
    const last = --this.size;
    if (last > 0) {
      this.rank[0] = this.rank[last];
      this.pos[0] = this.pos[last];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < last && this.less(l, m)) m = l;
        if (r < last && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
