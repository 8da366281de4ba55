// Trains a byte-level BPE vocabulary the way Hugging Face's BpeTrainer does: pieces from GPT-2's
// pre-tokenizer are counted once, then the most frequent adjacent pair is merged again and again.
// Pair counts are updated only where a merge changes a word, and the next pair comes from a
// max-heap whose stale entries are re-pushed with their current count when they surface.
import { BYTE_ORDER, bytesToTokenText, makeSpecialSplitter, safeCutIndex } from './byte_level.ts';
import { gpt2PieceEnd } from './pretokenize.ts';
import { ByteLevelBpeTokenizer, END_OF_TEXT } from './bpe_tokenizer.ts';
import { MAX_CARRY } from './chunked.ts';
import { PairTable, PairHeap } from './train_bpe_tables.ts';

export interface TrainProgress {
  phase: 'counting' | 'merging';
  /** counting: characters read so far (total 0 when unknown); merging: merges made of total */
  done: number;
  total: number;
}

export interface TrainBpeOptions {
  /** Ids in the result, <|endoftext|> included: 256 bytes + merges + 1. */
  vocabSize: number;
  onProgress?: (p: TrainProgress) => void;
}

/** Counts GPT-2 pre-tokenizer pieces; feed it whole texts, or a stream in chunks. */
export class PieceCounter {
  readonly counts = new Map<string, number>();
  charsRead = 0;
  private carry = '';
  private readonly splitSpecial = makeSpecialSplitter(new Map([[END_OF_TEXT, 0]]));

  /** A complete document. */
  addText(text: string): void {
    this.charsRead += text.length;
    this.splitSpecial(
      text,
      (part) => this.countPieces(part),
      () => {},
    );
  }

  /** Part of a document that may end mid-word: the unfinished end waits for the next chunk. */
  addChunk(chunk: string): void {
    const text = this.carry + chunk;
    let cut = safeCutIndex(text);
    if (cut === 0 && text.length > MAX_CARRY) cut = text.length; // no boundary at all: cut anyway
    this.carry = text.slice(cut);
    this.addText(text.slice(0, cut));
  }

  /** Ends the document that addChunk was feeding. */
  endDocument(): void {
    const rest = this.carry;
    this.carry = '';
    this.addText(rest);
  }

  private countPieces(text: string): void {
    const counts = this.counts;
    for (let start = 0, end: number; start < text.length; start = end) {
      const piece = text.slice(start, (end = gpt2PieceEnd(text, start)));
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
}

/** Trains on whole documents (strings, or an async stream of them, e.g. from a worker's file reader). */
export async function trainBpe(
  documents: Iterable<string> | AsyncIterable<string>,
  options: TrainBpeOptions,
): Promise<ByteLevelBpeTokenizer> {
  const counter = new PieceCounter();
  for await (const doc of documents) {
    counter.addText(doc);
    options.onProgress?.({ phase: 'counting', done: counter.charsRead, total: 0 });
  }
  return trainBpeFromCounts(counter.counts, options);
}

/** The merge loop on counted pieces; synchronous, so run it in a worker in the browser. */
export function trainBpeFromCounts(
  counts: ReadonlyMap<string, number>,
  options: TrainBpeOptions,
): ByteLevelBpeTokenizer {
  const { vocabSize, onProgress } = options;
  if (!(vocabSize >= 257))
    throw new Error(
      `vocabulary size ${vocabSize} is too small: byte-level BPE needs 256 byte tokens and <|endoftext|>`,
    );
  const wantedMerges = vocabSize - 257;

  // Byte b starts as id BYTE_ORDER.indexOf(b), so ids 0..255 are GPT-2's byte tokens.
  const idOfByte = new Int32Array(256);
  BYTE_ORDER.forEach((b, id) => (idOfByte[b] = id));
  const tokenBytes: Uint8Array[] = BYTE_ORDER.map((b) => Uint8Array.of(b));

  // Every distinct piece is a word: its symbols live in one array, each word owning a slice.
  const encoder = new TextEncoder();
  const wordCount = counts.size;
  const wordStart = new Int32Array(wordCount + 1);
  const wordLength = new Int32Array(wordCount);
  const wordFreq = new Float64Array(wordCount);
  const pieces: Uint8Array[] = [];
  let totalBytes = 0;
  for (const [piece, n] of counts) {
    const bytes = encoder.encode(piece);
    wordFreq[pieces.length] = n;
    pieces.push(bytes);
    totalBytes += bytes.length;
  }
  const symbols = new Int32Array(totalBytes);
  pieces.forEach((bytes, w) => {
    const start = (wordStart[w + 1] = wordStart[w] + bytes.length) - bytes.length;
    wordLength[w] = bytes.length;
    for (let i = 0; i < bytes.length; i++) symbols[start + i] = idOfByte[bytes[i]];
  });
  pieces.length = 0;

  const pairs = new PairTable(Math.max(1024, totalBytes >> 2));
  for (let w = 0; w < wordCount; w++) {
    const s = wordStart[w];
    for (let i = s; i + 1 < s + wordLength[w]; i++) pairs.add(symbols[i], symbols[i + 1], wordFreq[w], w);
  }
  const heap = new PairHeap();
  for (let p = 0; p < pairs.size; p++)
    if (pairs.count[p] > 0) heap.push(pairs.count[p], pairs.left[p], pairs.right[p], p);

  const merges: [string, string][] = [];
  const tokenText: string[] = tokenBytes.map(bytesToTokenText);
  const touched: number[] = [];
  const progressEvery = Math.max(1, Math.floor(wantedMerges / 100));

  while (merges.length < wantedMerges && heap.size > 0) {
    const p = heap.popTop();
    const count = pairs.count[p];
    if (heap.lastCount !== count) {
      if (count > 0) heap.push(count, pairs.left[p], pairs.right[p], p); // stale: count fell since pushed
      continue;
    }
    const a = pairs.left[p];
    const b = pairs.right[p];
    const c = tokenBytes.length;
    const joined = new Uint8Array(tokenBytes[a].length + tokenBytes[b].length);
    joined.set(tokenBytes[a]);
    joined.set(tokenBytes[b], tokenBytes[a].length);
    tokenBytes.push(joined);
    tokenText.push(tokenText[a] + tokenText[b]);
    merges.push([tokenText[a], tokenText[b]]);

    const onIncrease = (q: number) => {
      if (pairs.stamp[q] !== c) {
        pairs.stamp[q] = c;
        touched.push(q);
      }
    };
    for (const w of pairs.takeWords(p)) {
      const s = wordStart[w];
      const n = wordLength[w];
      const f = wordFreq[w];
      let j = s;
      for (let i = s; i < s + n;) {
        if (i + 1 < s + n && symbols[i] === a && symbols[i + 1] === b) {
          if (j > s) {
            pairs.add(symbols[j - 1], a, -f, w);
            onIncrease(pairs.add(symbols[j - 1], c, f, w));
          }
          if (i + 2 < s + n) {
            pairs.add(b, symbols[i + 2], -f, w);
            onIncrease(pairs.add(c, symbols[i + 2], f, w));
          }
          symbols[j++] = c;
          i += 2;
        } else {
          symbols[j++] = symbols[i++];
        }
      }
      wordLength[w] = j - s;
    }
    pairs.count[p] = 0; // every occurrence merged (overlapping runs of one symbol leave none)
    for (const q of touched) if (pairs.count[q] > 0) heap.push(pairs.count[q], pairs.left[q], pairs.right[q], q);
    touched.length = 0;
    if (merges.length % progressEvery === 0)
      onProgress?.({ phase: 'merging', done: merges.length, total: wantedMerges });
  }
  onProgress?.({ phase: 'merging', done: merges.length, total: wantedMerges });

  // Fewer merges than asked when the text runs out of pairs; <|endoftext|> takes the last id.
  tokenText.push(END_OF_TEXT);
  return new ByteLevelBpeTokenizer(tokenText, merges, new Map([[END_OF_TEXT, tokenText.length - 1]]));
}
