// Which tokens of which examples make each row of a batch, as TRL's SFTTrainer decides it:
// - no packing: one example per row, cut to max_length (keep_start); an example left with nothing that counts for
//   the loss is dropped;
// - packing "bfd": examples (cut to max_length) packed into rows of at most max_length tokens by best-fit
//   decreasing; "bfd_split" splits long examples into max_length pieces instead of cutting them; each packed
//   sequence keeps its own positions (padding-free);
// - packing "wrapped": the examples end to end, cut every max_length tokens.
// TRL packs with datasets' map(batched=True), so examples are packed in groups of 1,000 in dataset order; so here.
// Only lengths are needed: the rows say which pieces to read, and the tokens stay in the cache.

/** The examples a dataset's map() hands to each packing call (datasets' default batch size). */
const PACKING_GROUP = 1000;

/** Rows as runs of pieces: row r is pieces rowStart[r] .. rowStart[r+1]−1, each `length` tokens of an example. */
export interface RowPlan {
  rowStart: Uint32Array;
  example: Uint32Array;
  /** the first token of the piece within its example */
  offset: Uint32Array;
  length: Uint32Array;
  /** whether each piece is a sequence of its own (bfd packing: its positions restart, its first token is no target) */
  piecesAreSequences: boolean;
  /** the longest row, in tokens */
  longest: number;
}

/** What the plan did to the examples, counted per example. */
export interface PlanEffects {
  /** cut to max_length, with the tokens dropped */
  truncated: Uint8Array;
  droppedTokens: Float64Array;
  /** left out (nothing that counts for the loss was left, or it was empty) */
  dropped: Uint8Array;
}

export interface PackingOptions {
  max_length: number;
  packing: boolean;
  packing_strategy: 'bfd' | 'bfd_split' | 'wrapped';
}

class PieceList {
  example: number[] = [];
  offset: number[] = [];
  length: number[] = [];
  rowStart: number[] = [0];
  longest = 0;
  add(example: number, offset: number, length: number): void {
    this.example.push(example);
    this.offset.push(offset);
    this.length.push(length);
  }
  endRow(tokens: number): void {
    this.rowStart.push(this.example.length);
    this.longest = Math.max(this.longest, tokens);
  }
  plan(piecesAreSequences: boolean): RowPlan {
    return {
      rowStart: Uint32Array.from(this.rowStart),
      example: Uint32Array.from(this.example),
      offset: Uint32Array.from(this.offset),
      length: Uint32Array.from(this.length),
      piecesAreSequences,
      longest: this.longest,
    };
  }
}

/**
 * The rows of examples with these lengths. firstCounted[e] is the index of example e's first token that counts
 * for the loss (its length when none does).
 */
export function planRows(
  lengths: ArrayLike<number>,
  firstCounted: ArrayLike<number>,
  options: PackingOptions,
): { plan: RowPlan; effects: PlanEffects } {
  const T = options.max_length;
  if (!(T >= 2)) throw new Error(`max_length ${T} is too small`);
  const n = lengths.length;
  const effects: PlanEffects = {
    truncated: new Uint8Array(n),
    droppedTokens: new Float64Array(n),
    dropped: new Uint8Array(n),
  };
  const pieces = new PieceList();
  const cut = (e: number) => {
    if (lengths[e] > T) {
      effects.truncated[e] = 1;
      effects.droppedTokens[e] = lengths[e] - T;
    }
    return Math.min(lengths[e], T);
  };

  if (!options.packing) {
    for (let e = 0; e < n; e++) {
      const len = cut(e);
      if (len === 0 || firstCounted[e] >= len) {
        effects.dropped[e] = 1;
        continue;
      }
      pieces.add(e, 0, len);
      pieces.endRow(len);
    }
    return { plan: pieces.plan(false), effects };
  }

  for (let g = 0; g < n; g += PACKING_GROUP) {
    const end = Math.min(n, g + PACKING_GROUP);
    if (options.packing_strategy === 'wrapped') wrapGroup(lengths, g, end, T, pieces);
    else {
      // The group's sequences: whole examples cut to T (bfd), or every T-token piece of them (bfd_split).
      const seqExample: number[] = [];
      const seqOffset: number[] = [];
      const seqLength: number[] = [];
      for (let e = g; e < end; e++) {
        if (lengths[e] === 0) {
          effects.dropped[e] = 1; // TRL's bfd filters empty sequences out
          continue;
        }
        if (options.packing_strategy === 'bfd') {
          seqExample.push(e);
          seqOffset.push(0);
          seqLength.push(cut(e));
        } else {
          for (let at = 0; at < lengths[e]; at += T) {
            seqExample.push(e);
            seqOffset.push(at);
            seqLength.push(Math.min(T, lengths[e] - at));
          }
        }
      }
      for (const bin of bestFitDecreasing(seqLength, T)) {
        let tokens = 0;
        for (const s of bin) {
          pieces.add(seqExample[s], seqOffset[s], seqLength[s]);
          tokens += seqLength[s];
        }
        pieces.endRow(tokens);
      }
    }
  }
  return { plan: pieces.plan(options.packing_strategy !== 'wrapped'), effects };
}

/** Examples [start, end) end to end, cut every T tokens; the last row of the group may be shorter. */
function wrapGroup(lengths: ArrayLike<number>, start: number, end: number, T: number, pieces: PieceList): void {
  let filled = 0;
  for (let e = start; e < end; e++) {
    for (let at = 0; at < lengths[e];) {
      const n = Math.min(lengths[e] - at, T - filled);
      pieces.add(e, at, n);
      at += n;
      filled += n;
      if (filled === T) {
        pieces.endRow(T);
        filled = 0;
      }
    }
  }
  if (filled > 0) pieces.endRow(filled);
}

/**
 * Best-fit decreasing, as TRL's _pack_bfd: sequences by length, longest first (ties in their order), each into
 * the open bin with the least room that still fits it (among equals the one that got that room first), or a new
 * bin. Bins come out in the order they were opened, their sequences in the order they went in.
 */
export function bestFitDecreasing(lengths: readonly number[], capacity: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const room = new RoomTree(capacity);
  room.add(capacity); // a new bin is always possible
  const binsWithRoom = new Map<number, { bins: number[][]; head: number }>();
  const bins: number[][] = [];
  for (const s of order) {
    const len = lengths[s];
    const space = room.smallestAtLeast(len);
    let bin: number[];
    if (space < capacity) {
      const q = binsWithRoom.get(space)!;
      bin = q.bins[q.head++];
      if (q.head === q.bins.length) {
        binsWithRoom.delete(space);
        room.remove(space);
      }
    } else {
      bin = [];
      bins.push(bin);
    }
    bin.push(s);
    const left = space - len;
    if (left > 0) {
      let q = binsWithRoom.get(left);
      if (!q) binsWithRoom.set(left, (q = { bins: [], head: 0 }));
      q.bins.push(bin);
      room.add(left);
    }
  }
  return bins;
}

/** The amounts of room present among 1..max, answering "the smallest present that is at least x" in log time. */
class RoomTree {
  private readonly size: number;
  private readonly tree: Int32Array;

  constructor(max: number) {
    this.size = 1 << Math.ceil(Math.log2(Math.max(2, max)));
    this.tree = new Int32Array(2 * this.size);
  }

  private setLeaf(value: number, present: boolean): void {
    let i = this.size + value - 1;
    this.tree[i] = present ? value : 0;
    for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = Math.max(this.tree[2 * i], this.tree[2 * i + 1]);
  }

  add(value: number): void {
    this.setLeaf(value, true);
  }

  remove(value: number): void {
    this.setLeaf(value, false);
  }

  smallestAtLeast(value: number): number {
    let i = 1;
    while (i < this.size) i = this.tree[2 * i] >= value ? 2 * i : 2 * i + 1;
    return this.tree[i];
  }
}
