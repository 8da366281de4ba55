// Generation with the keys and values of every layer kept on the GPU.
//
// Each layer has a K and a V cache of (B, kv heads, n_positions, head_dim): a grouped-query model keeps only its shared
// key/value heads, which the decode kernels read for each query head of the group. A prefill runs the prompt's T
// positions in one batched pass that fills rows 0..T−1; a step runs one new position per sequence, appends its k and v,
// and attends over the cache: its cost grows with the context only through that O(context) attention, where a full
// forward would redo every matmul for every earlier position. The model's own embed, blocks and head run, with the
// cache as the blocks' attention, so the logits equal a full forward's last row to float32 rounding (the tests check
// it). A step's matmuls have a handful of rows (one per sequence); with Hearth's kernels the matmul family then runs
// its few-rows variant (one output column per thread, each weight read once).
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal_lm.ts';
import type { Attend } from '../model/family.ts';
import { createKvCache, kvCacheWrite, decodeAttention } from '../kernels/decode/index.ts';
import { ModelDecoder, readLogits } from './decoder.ts';

interface LayerCache {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

export class KVCacheDecoder extends ModelDecoder {
  private caches: LayerCache[] = [];
  private batch = 0;
  private filled = 0;

  get length(): number {
    return this.filled;
  }

  /** GPU memory the caches take for B sequences, in bytes. */
  static cacheBytes(model: CausalLM, B: number): number {
    const s = model.sizes;
    return 2 * s.num_hidden_layers * B * s.max_position_embeddings * s.num_key_value_heads * s.head_dim * 4;
  }

  prefill(tokens: Int32Array, B: number, T: number): Promise<Float32Array> {
    this.checkPrefill(tokens, B, T);
    if (T < 1 || T > this.maxPositions)
      throw new Error(`prefill: ${T} tokens do not fit n_positions ${this.maxPositions}`);
    if (B !== this.batch) this.allocate(B);
    this.filled = 0;
    return this.run(tokens, T);
  }

  step(tokens: Int32Array): Promise<Float32Array> {
    if (this.batch === 0) throw new Error('step: prefill first');
    if (tokens.length !== this.batch) throw new Error(`step: expected ${this.batch} tokens, got ${tokens.length}`);
    if (this.filled >= this.maxPositions) {
      throw new Error(
        `step: the cache holds n_positions = ${this.maxPositions} positions already; slide the window first`,
      );
    }
    return this.run(tokens, 1);
  }

  /** Every layer's cache rows gathered into the new order (a copy of the caches, as HF's _reorder_cache). */
  reorder(rows: Int32Array): void {
    if (rows.length !== this.batch) throw new Error(`reorder: expected ${this.batch} rows, got ${rows.length}`);
    const index = tf.tensor1d(rows, 'int32');
    this.caches = this.caches.map(({ k, v }) => {
      const moved = { k: tf.gather(k, index) as tf.Tensor4D, v: tf.gather(v, index) as tf.Tensor4D };
      tf.dispose([k, v]);
      return moved;
    });
    index.dispose();
  }

  private allocate(B: number): void {
    this.release();
    const s = this.model.sizes;
    for (let l = 0; l < s.num_hidden_layers; l++) {
      this.caches.push({
        k: createKvCache(B, s.num_key_value_heads, s.max_position_embeddings, s.head_dim),
        v: createKvCache(B, s.num_key_value_heads, s.max_position_embeddings, s.head_dim),
      });
    }
    this.batch = B;
  }

  /** Logits (B, V) after positions past .. past+Tq−1, writing their k and v into the caches on the way. */
  private run(tokens: Int32Array, Tq: number): Promise<Float32Array> {
    const past = this.filled;
    const attend: Attend = (layer, qkv, heads) => {
      const { k, v } = this.caches[layer];
      kvCacheWrite(qkv, k, v, past, heads.nHead, heads.nKvHead);
      const { nHead, nKvHead, scaled, window } = heads;
      return decodeAttention(qkv, k, v, past, nHead, { nKvHead, scaled, window }); // (B, Tq, H·D)
    };
    const logits = this.model.lastLogits(tokens, this.batch, Tq, { ops: this.ops, position: past, attend });
    this.filled += Tq;
    return readLogits(logits);
  }

  private release(): void {
    for (const { k, v } of this.caches) tf.dispose([k, v]);
    this.caches = [];
    this.batch = 0;
    this.filled = 0;
  }

  dispose(): void {
    this.release();
  }
}
