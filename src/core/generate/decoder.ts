// What the generation loop asks of a model: next-token logits for a batch of sequences that advance together.
// Two implementations over a CausalLM: the KV-cached one (kv_cache.ts) and one that reruns the model over the
// whole prefix each step (below), the obvious version the cached one is tested and measured against.
import type * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal_lm.ts';
import type { Ops } from '../model/ops.ts';
import { kernelOps } from '../model/kernel_ops.ts';

export interface CausalDecoder {
  readonly vocabSize: number;
  /** the model's n_positions: no sequence may be longer */
  readonly maxPositions: number;
  /** positions the decoder holds per sequence */
  readonly length: number;
  /** Starts over from B sequences of T tokens each (row-major, (B, T)) at position 0; the logits that follow
   * each sequence's last token, (B, V) row-major. */
  prefill(tokens: Int32Array, B: number, T: number): Promise<Float32Array>;
  /** Appends one token per sequence at position `length`; the logits that follow, (B, V). */
  step(tokens: Int32Array): Promise<Float32Array>;
  /** Makes row i what row rows[i] was (beam search's reordering; rows may repeat): (B) indices. */
  reorder(rows: Int32Array): void;
  dispose(): void;
}

/** Reads (B, V) logits back, failing loudly on NaN or ∞ (a broken kernel must not sample garbage quietly). */
export async function readLogits(logits: tf.Tensor): Promise<Float32Array> {
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]))
      throw new Error(`generate: the model produced a non-finite logit (${data[i]}) at index ${i}`);
  }
  return data;
}

/** What both decoders share: the model, the ops it runs on, and its sizes. */
export abstract class ModelDecoder implements CausalDecoder {
  constructor(
    protected readonly model: CausalLM,
    protected readonly ops: Ops = kernelOps,
  ) {}

  get vocabSize(): number {
    return this.model.sizes.vocab_size;
  }

  get maxPositions(): number {
    return this.model.sizes.max_position_embeddings;
  }

  abstract readonly length: number;
  abstract prefill(tokens: Int32Array, B: number, T: number): Promise<Float32Array>;
  abstract step(tokens: Int32Array): Promise<Float32Array>;
  abstract reorder(rows: Int32Array): void;
  abstract dispose(): void;

  protected checkPrefill(tokens: Int32Array, B: number, T: number): void {
    if (tokens.length !== B * T)
      throw new Error(`prefill: expected ${B * T} tokens for ${B} × ${T}, got ${tokens.length}`);
  }
}

/**
 * Every step runs the model over each sequence's whole prefix: O(context) matmul work per token and
 * O(context²) attention, where the cache needs O(context) in all. Only the last position goes through the
 * head, with the same kernel as the cached decoder (B·V logits, not B·T·V), so a comparison of the two
 * measures the cache alone.
 */
export class FullPrefixDecoder extends ModelDecoder {
  private rows: number[][] = [];

  get length(): number {
    return this.rows.length ? this.rows[0].length : 0;
  }

  prefill(tokens: Int32Array, B: number, T: number): Promise<Float32Array> {
    this.checkPrefill(tokens, B, T);
    this.rows = Array.from({ length: B }, (_, b) => Array.from(tokens.subarray(b * T, (b + 1) * T)));
    return this.run();
  }

  step(tokens: Int32Array): Promise<Float32Array> {
    if (tokens.length !== this.rows.length)
      throw new Error(`step: expected ${this.rows.length} tokens, got ${tokens.length}`);
    this.rows.forEach((r, b) => r.push(tokens[b]));
    return this.run();
  }

  reorder(rows: Int32Array): void {
    if (rows.length !== this.rows.length)
      throw new Error(`reorder: expected ${this.rows.length} rows, got ${rows.length}`);
    this.rows = Array.from(rows, (r) => this.rows[r].slice());
  }

  private run(): Promise<Float32Array> {
    const B = this.rows.length;
    const T = this.length;
    return readLogits(this.model.lastLogits(Int32Array.from(this.rows.flat()), B, T, { ops: this.ops }));
  }

  dispose(): void {
    this.rows = [];
  }
}
