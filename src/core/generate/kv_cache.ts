// GPT-2's forward pass for generation with the keys and values of every layer kept on the GPU.
//
// Each layer has a K and a V cache of (B, nh, n_positions, hd). A prefill runs the prompt's T positions in one
// batched pass that fills rows 0..T−1; a step runs one new position per sequence, appends its k and v, and
// attends over the cache: its cost grows with the context only through that O(context) attention, where a
// full forward would redo every matmul for every earlier position. Only the last position goes through ln_f
// and the tied head. A step's matmuls have a handful of rows (one per sequence); with Hearth's kernels the
// matmul family then runs its few-rows variant (one output column per thread, each weight read once).
// The parameters are the model's, by GPT-2 name, so the logits equal a full forward's last row to float32
// rounding (the tests check it).
import * as tf from '@tensorflow/tfjs-core';
import type { GPT } from '../model/gpt.ts';
import type { Ops } from '../model/ops.ts';
import { kernelOps } from '../model/kernel_ops.ts';
import { createKvCache, kvCacheWrite, decodeAttention } from '../kernels/decode/index.ts';
import { lastPositions, readLogits, type CausalDecoder } from './decoder.ts';

interface LayerCache {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

export class KVCacheDecoder implements CausalDecoder {
  private caches: LayerCache[] = [];
  private batch = 0;
  private filled = 0;

  constructor(
    private readonly model: GPT,
    private readonly ops: Ops = kernelOps,
  ) {}

  get vocabSize(): number {
    return this.model.dims.vocab_size;
  }

  get maxPositions(): number {
    return this.model.dims.n_positions;
  }

  get length(): number {
    return this.filled;
  }

  /** GPU memory the caches take for B sequences, in bytes. */
  static cacheBytes(model: GPT, B: number): number {
    const d = model.dims;
    return 2 * d.n_layer * B * d.n_positions * d.n_embd * 4;
  }

  prefill(tokens: Int32Array, B: number, T: number): Promise<Float32Array> {
    if (tokens.length !== B * T)
      throw new Error(`prefill: expected ${B * T} tokens for ${B} × ${T}, got ${tokens.length}`);
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

  private allocate(B: number): void {
    this.release();
    const d = this.model.dims;
    const hd = d.n_embd / d.n_head;
    for (let l = 0; l < d.n_layer; l++) {
      this.caches.push({
        k: createKvCache(B, d.n_head, d.n_positions, hd),
        v: createKvCache(B, d.n_head, d.n_positions, hd),
      });
    }
    this.batch = B;
  }

  private run(tokens: Int32Array, Tq: number): Promise<Float32Array> {
    const past = this.filled;
    const logits = tf.tidy(() => this.forward(tokens, this.batch, Tq, past));
    this.filled += Tq;
    return readLogits(logits);
  }

  /** Logits (B, V) after positions past .. past+Tq−1, writing their k and v into the caches on the way. */
  private forward(tokens: Int32Array, B: number, Tq: number, past: number): tf.Tensor2D {
    const { ops, model } = this;
    const d = model.dims;
    const C = d.n_embd;
    const M = B * Tq;
    const eps = d.layer_norm_epsilon;
    const w1 = (n: string) => model.p(n) as unknown as tf.Tensor1D;
    const w2 = (n: string) => model.p(n) as unknown as tf.Tensor2D;
    const ids = tf.tensor1d(tokens, 'int32');
    const tok = tf.reshape(tf.gather(w2('wte.weight'), ids), [B, Tq, C]);
    const pos = tf.slice(w2('wpe.weight'), [past, 0], [Tq, C]); // (Tq, C), broadcast over the batch
    let x = tf.reshape(tf.add(tok, pos), [M, C]) as tf.Tensor2D; // (B·Tq, C)
    const linear = (input: tf.Tensor2D, name: string, gelu = false): tf.Tensor2D =>
      ops.matmul(input, w2(`${name}.weight`), { bias: w1(`${name}.bias`), activation: gelu ? 'gelu' : 'none' });
    for (let l = 0; l < d.n_layer; l++) {
      const n = (s: string) => `h.${l}.${s}`;
      const { k, v } = this.caches[l];
      const a = ops.layerNorm(x, w1(n('ln_1.weight')), w1(n('ln_1.bias')), eps);
      const qkv = tf.reshape(linear(a, n('attn.c_attn')), [B, Tq, 3 * C]) as tf.Tensor3D;
      kvCacheWrite(qkv, k, v, past, d.n_head);
      const att = decodeAttention(qkv, k, v, past, d.n_head); // (B, Tq, C)
      x = tf.add(x, linear(tf.reshape(att, [M, C]) as tf.Tensor2D, n('attn.c_proj')));
      const m = ops.layerNorm(x, w1(n('ln_2.weight')), w1(n('ln_2.bias')), eps);
      const h = linear(m, n('mlp.c_fc'), true); // (B·Tq, 4C)
      x = tf.add(x, linear(h, n('mlp.c_proj')));
    }
    const last = ops.layerNorm(lastPositions(x, B, Tq), w1('ln_f.weight'), w1('ln_f.bias'), eps); // (B, C)
    return ops.matmul(last, w2('wte.weight'), { transposeB: true }); // (B, V), head tied to wte
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
