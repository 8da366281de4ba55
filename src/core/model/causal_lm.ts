// A causal language model on tfjs over any family (families/): parameters under the family's Hugging Face names,
// the forward pass embed → blocks → final norm → logits written once against `Ops` (our kernels by default, stock
// tfjs ops for comparison), the mean next-token loss, and its gradients, plain or with gradient checkpointing.
import * as tf from '@tensorflow/tfjs-core';
import { fullCausalAttention, type Attend, type ForwardContext, type ModelFamily, type ModelSizes } from './family.ts';
import { familyOf, type ModelConfig, type ModelDims } from './families/index.ts';
import type { NamedTensors } from './host_tensors.ts';
import type { Ops } from './ops.ts';
import { kernelOps } from './kernel_ops.ts';
import { gradients, type BackwardKind } from './backward.ts';
import { checkPositionIds } from '../kernels/attention/index.ts';
import { Random } from '../util/random.ts';
import { countTargets } from '../util/targets.ts';
import { LoraAdapter, initialLoraValues, mergeLora } from './lora/adapter.ts';
import { resolveModulesToSave, resolveTargets, type LoraConfig } from './lora/config.ts';
import { castToHalfUntracked } from '../kernels/half/index.ts';
import type { HalfWeight } from '../kernels/lora/index.ts';

/**
 * A frozen base weight held in f16 on the GPU (attachLora's halfBase), and its exact float32 values on the CPU, read
 * back once when it was cast: the f16 copy is what the forward reads; the host values are what the model saves,
 * exports and merges, so a checkpoint of the base is never rounded to f16.
 */
interface HalfBaseWeight {
  half: HalfWeight;
  host: Promise<Float32Array>;
}

export interface ForwardOptions {
  ops?: Ops;
  /**
   * Training: dropout at the model's rates, every mask hashed from this seed and its (layer, site), so a block
   * recomputed for gradient checkpointing draws its forward's masks. Absent (evaluation, generation): no dropout.
   */
  dropoutSeed?: number;
  /**
   * Packed rows (TRL's padding-free packing, a Batch's positionIds, B·T): each token's position within its own
   * sequence, counting from 0 at its first token, as transformers' position_ids. Each sequence then runs as if alone:
   * its own positions, and attention within it only (flash-attention's varlen). Absent: one sequence per row.
   */
  positionIds?: Int32Array;
}

/** Options of the loss: what the forward takes, and what the mean divides by. */
interface LossOptions extends ForwardOptions {
  /**
   * transformers' num_items_in_batch: the summed token loss is divided by this (the counted targets of the whole
   * optimizer step, over every accumulated micro-batch) rather than by this batch's own count, so that
   * accumulated micro-batches with different numbers of −100 labels make the update of one big batch.
   */
  numItemsInBatch?: number;
}

/** A forward over part of a sequence: the decoders' (no dropout, no gradients). */
export interface DecodeOptions {
  ops?: Ops;
  /** the position of the first token (the KV cache's length); 0 by default */
  position?: number;
  /** the blocks' attention; full causal over the tokens given by default */
  attend?: Attend;
}

type Grads = Map<string, tf.Tensor>;

export interface GradientOptions extends LossOptions {
  /** gradient checkpointing: recompute each block's activations in the backward instead of keeping them */
  checkpoint?: boolean;
  /**
   * 'freeing' (the default) releases each activation's gradient and saved tensors once the backward has used them;
   * 'tfjs' is tfjs's own backward, which holds them all until it ends. Both give the same gradients, bit for bit.
   */
  backward?: BackwardKind;
}

function toVariable(data: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(data, shape);
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

export class CausalLM {
  readonly dims: ModelDims;
  readonly family: ModelFamily<ModelDims, ModelConfig>;
  /** the sizes under Hugging Face's common names, whatever the family */
  readonly sizes: ModelSizes;
  /** every parameter of the model, by its Hugging Face name (a tied head has none of its own) */
  readonly params: Map<string, tf.Variable>;
  /** the LoRA adapter attached (attachLora), if any: then only it and its modules_to_save train */
  lora: LoraAdapter | null = null;
  private savedModules: string[] = [];
  /** with a LoRA adapter attached with halfBase: the frozen linear weights, in f16 (and no longer in `params`) */
  private readonly halfBase = new Map<string, HalfBaseWeight>();

  private constructor(dims: ModelDims, params: Map<string, tf.Variable>) {
    this.dims = dims;
    this.family = familyOf(dims);
    this.sizes = this.family.sizes(dims);
    this.params = params;
  }

  /** A new model, initialised as its family is; drawn on the CPU from `seed`, so it is the same on every device. */
  static init(dims: ModelDims, seed = 1337): CausalLM {
    const family = familyOf(dims);
    family.validate(dims);
    const rng = new Random(seed);
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of family.parameterShapes(dims)) {
      const size = shape.reduce((a, b) => a * b, 1);
      params.set(name, toVariable(family.initialValues(dims, name, size, rng), shape));
    }
    return new CausalLM(dims, params);
  }

  /** A model from named float32 arrays (an import); every parameter must be present with its shape. */
  static fromArrays(dims: ModelDims, arrays: NamedTensors): CausalLM {
    const family = familyOf(dims);
    family.validate(dims);
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of family.parameterShapes(dims)) {
      const a = arrays.get(name);
      if (!a) throw new Error(`missing parameter '${name}'`);
      if (a.shape.join(',') !== shape.join(',')) {
        throw new Error(`parameter '${name}' has shape [${a.shape}], expected [${shape}]`);
      }
      params.set(name, toVariable(a.data, shape));
    }
    return new CausalLM(dims, params);
  }

  /**
   * Attaches a LoRA adapter (PEFT's get_peft_model): new (A Kaiming-uniform from `seed`, B zeros) or from `values`
   * (an import, every tensor checked before any is loaded, modules_to_save's parameters among them). The base
   * parameters stop training; the adapter and modules_to_save's parameters are what `trainable` holds.
   *
   * With `halfBase`, every linear layer's weight that the blocks multiply (targeted or not; not modules_to_save's,
   * which train) is cast once to f16 on the GPU and its float32 variable released: 2 bytes per frozen weight instead
   * of 4 (a 0.5B base in about 1 GB). The forward then reads the f16 values (kernelOps' linear only); the exact
   * float32 values are read back to the CPU first, and toArrays/mergedArrays give them. Embeddings, the head, norms
   * and biases stay float32. `hostBase`, with halfBase: the host arrays the base's parameters were made from
   * (fromArrays) and still hold, which the caller keeps anyway (a loaded checkpoint); they serve as the exact values
   * instead of a second copy read back.
   */
  attachLora(
    config: LoraConfig,
    o: { seed?: number; values?: NamedTensors; halfBase?: boolean; hostBase?: NamedTensors } = {},
  ): void {
    if (this.lora) throw new Error('the model has a LoRA adapter already');
    const targets = resolveTargets(this.family, this.dims, config);
    const saved = resolveModulesToSave(this.family, this.dims, config, targets);
    const values = o.values ?? initialLoraValues(targets, config.r, o.seed ?? 1337);
    for (const name of o.values ? saved : []) {
      const a = values.get(name);
      const want = this.p(name).shape;
      if (!a) throw new Error(`LoRA adapter: missing tensor '${name}' (modules_to_save)`);
      if (a.shape.join(',') !== want.join(','))
        throw new Error(`LoRA adapter: tensor '${name}' has shape [${a.shape}], this model needs [${want}]`);
    }
    const adapter = new LoraAdapter(config, targets, values);
    for (const name of o.values ? saved : []) {
      const t = tf.tensor(values.get(name)!.data, this.p(name).shape);
      this.p(name).assign(t);
      t.dispose();
    }
    for (const [name, v] of this.params) v.trainable = saved.includes(name);
    this.lora = adapter;
    this.savedModules = saved;
    if (o.halfBase) this.holdBaseInHalf(saved, o.hostBase);
  }

  /**
   * Casts the frozen linear weights to f16 and releases their float32 variables once read back, or at once where
   * `hostBase` holds their values (attachLora).
   */
  private holdBaseInHalf(saved: string[], hostBase?: NamedTensors): void {
    const frozen = (this.family.linearLayers?.(this.dims) ?? [])
      .map((l) => `${l.module}.weight`)
      .filter((name) => this.params.has(name) && !saved.includes(name))
      .map((name) => ({ name, v: this.p(name), known: hostBase?.get(name) }));
    // every shape checked before any weight is cast, so a refusal leaves the base as it was
    for (const { name, v, known } of frozen)
      if (known && known.shape.join(',') !== v.shape.join(','))
        throw new Error(`hostBase: '${name}' has shape [${known.shape}], the model's [${v.shape}]`);
    for (const { name, v, known } of frozen) {
      const half: HalfWeight = { packed: tf.keep(castToHalfUntracked(v)), shape: v.shape as [number, number] };
      // The variable lives until its values are on the CPU; nothing reads it on the GPU after the cast.
      const host = (known ? Promise.resolve(known.data) : (v.data() as Promise<Float32Array>)).finally(() =>
        v.dispose(),
      );
      this.params.delete(name);
      this.halfBase.set(name, { half, host });
    }
  }

  /** How many of the frozen base's linear weights are held in f16 (attachLora's halfBase); 0 without. */
  get halfBaseWeights(): number {
    return this.halfBase.size;
  }

  /** What training updates: every parameter, or with a LoRA adapter its tensors and modules_to_save's parameters. */
  get trainable(): Map<string, tf.Variable> {
    if (!this.lora) return this.params;
    return new Map([...this.lora.params, ...this.savedModules.map((n): [string, tf.Variable] => [n, this.p(n)])]);
  }

  /** Copies every parameter back to the CPU, with a LoRA adapter's tensors after the base's. */
  async toArrays(): Promise<NamedTensors> {
    const out: NamedTensors = new Map();
    for (const [name, shape] of this.family.parameterShapes(this.dims)) {
      const v = this.params.get(name);
      const half = this.halfBase.get(name);
      if (v) out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
      else if (half) out.set(name, { shape: shape.slice(), data: await half.host });
    }
    for (const [name, v] of this.lora?.params ?? [])
      out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    return out;
  }

  /** What PEFT saves of an adapter: its tensors and modules_to_save's parameters. */
  async adapterArrays(): Promise<NamedTensors> {
    const out: NamedTensors = new Map();
    for (const [name, v] of this.trainable)
      out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    return out;
  }

  /** The base parameters with the LoRA adapter merged in (PEFT's merge_and_unload); the parameters without one. */
  async mergedArrays(): Promise<NamedTensors> {
    const all = await this.toArrays();
    if (!this.lora) return all;
    const base: NamedTensors = new Map([...all].filter(([n]) => this.params.has(n) || this.halfBase.has(n)));
    return mergeLora(base, all, this.lora.targets, this.lora.config);
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name) ?? this.lora?.params.get(name);
    if (!v && this.halfBase.has(name)) throw new Error(`parameter '${name}' is held in f16 (LoRA's halfBase)`);
    if (!v) throw new Error(`no parameter '${name}'`);
    return v;
  }

  private context(ops: Ops = kernelOps, dropoutSeed?: number, positionIds?: Int32Array): ForwardContext<ModelDims> {
    const lora = this.lora;
    return {
      dims: this.dims,
      p: (name) => this.p(name),
      ops,
      dropoutSeed,
      positionIds,
      lora: lora ? (m) => lora.weights(m) : undefined,
      halfWeight: this.halfBase.size > 0 ? (name) => this.halfBase.get(name)?.half : undefined,
    };
  }

  private checkTokens(tokens: Int32Array, B: number, T: number, position = 0): void {
    const P = this.sizes.max_position_embeddings;
    if (tokens.length !== B * T)
      throw new Error(`expected ${B * T} tokens for batch ${B} × block ${T}, got ${tokens.length}`);
    if (position + T > P)
      throw new Error(`block of ${T} tokens${position ? ` at position ${position}` : ''} exceeds n_positions ${P}`);
  }

  /** The last block's output, (B·T, hidden). */
  private blocks(ctx: ForwardContext<ModelDims>, tokens: Int32Array, B: number, T: number, o: DecodeOptions = {}) {
    const attend = o.attend ?? fullCausalAttention(ctx.ops, ctx.positionIds);
    let x = this.family.embed(ctx, tokens, B, T, o.position ?? 0);
    for (let l = 0; l < this.sizes.num_hidden_layers; l++) x = this.family.block(ctx, l, x, B, T, attend);
    return x;
  }

  /** Mean next-token loss from the last block's output: final norm, logits, cross-entropy. */
  private head(ctx: ForwardContext<ModelDims>, x: tf.Tensor2D, targets: tf.Tensor1D, count: number): tf.Scalar {
    const logits = this.family.logits(ctx, this.family.finalNorm(ctx, x)); // (B·T, V)
    if (ctx.ops.crossEntropyMean) return ctx.ops.crossEntropyMean(logits, targets, count);
    return tf.div(tf.sum(ctx.ops.crossEntropy(logits, targets)), Math.max(count, 1));
  }

  /** Logits (B·T, V) of every position. tokens: (B, T) row-major. */
  forward(tokens: Int32Array, B: number, T: number, opts: ForwardOptions = {}): tf.Tensor2D {
    const ctx = this.context(opts.ops, opts.dropoutSeed, opts.positionIds);
    this.checkTokens(tokens, B, T);
    if (opts.positionIds) checkPositionIds(opts.positionIds, B, T);
    return tf.tidy(() => this.family.logits(ctx, this.family.finalNorm(ctx, this.blocks(ctx, tokens, B, T))));
  }

  /**
   * The logits that follow each sequence's last token, (B, V): what a decoder samples from. Only the last positions
   * go through the head (B·V logits, not B·T·V).
   */
  lastLogits(tokens: Int32Array, B: number, T: number, opts: DecodeOptions = {}): tf.Tensor2D {
    const ctx = { ...this.context(opts.ops), position: opts.position ?? 0 };
    this.checkTokens(tokens, B, T, opts.position);
    return tf.tidy(() => {
      const x = this.blocks(ctx, tokens, B, T, opts); // (B·T, hidden)
      return this.family.logits(ctx, this.family.finalNorm(ctx, lastPositions(x, B, T))); // (B, V)
    });
  }

  /**
   * Mean next-token cross-entropy over the targets that are not −100 (Hugging Face's ignore index).
   * targets are already shifted: targets[b, t] is the token that follows tokens[b, t].
   */
  loss(tokens: Int32Array, targets: Int32Array, B: number, T: number, opts: LossOptions = {}): tf.Scalar {
    const count = this.divisor(tokens, targets, opts);
    this.checkTokens(tokens, B, T);
    if (opts.positionIds) checkPositionIds(opts.positionIds, B, T);
    const ctx = this.context(opts.ops, opts.dropoutSeed, opts.positionIds);
    return tf.tidy(() => this.head(ctx, this.blocks(ctx, tokens, B, T), tf.tensor1d(targets, 'int32'), count));
  }

  /**
   * The loss and the gradient of every parameter (by name). With `checkpoint`, activations are recomputed block by
   * block in the backward pass (gradient checkpointing): only each block's input is kept from the forward pass, so
   * activation memory is one block's worth plus n_layer × (B·T, hidden), for about a third more compute.
   */
  lossAndGrads(
    tokens: Int32Array,
    targets: Int32Array,
    B: number,
    T: number,
    opts: GradientOptions = {},
  ): { loss: tf.Scalar; grads: Grads } {
    if (opts.checkpoint) return this.lossAndGradsRecomputed(tokens, targets, B, T, opts);
    const trainable = this.trainable;
    const names = [...trainable.keys()];
    const vars = names.map((n) => trainable.get(n)!);
    const f = () => this.loss(tokens, targets, B, T, opts);
    if (opts.backward === 'tfjs') {
      // tfjs keys gradients by its own (globally unique) variable names, which differ from the parameters' names so
      // that several models can live side by side.
      const { value, grads } = tf.variableGrads(f, vars);
      return { loss: value, grads: new Map(names.map((n, i) => [n, grads[vars[i].name]])) };
    }
    const { value, grads } = gradients(f, vars);
    return { loss: value, grads: new Map(names.map((n, i) => [n, grads[i]!])) };
  }

  private lossAndGradsRecomputed(
    tokens: Int32Array,
    targets: Int32Array,
    B: number,
    T: number,
    opts: GradientOptions,
  ): { loss: tf.Scalar; grads: Grads } {
    const backward = opts.backward ?? 'freeing';
    const count = this.divisor(tokens, targets, opts);
    this.checkTokens(tokens, B, T);
    if (opts.positionIds) checkPositionIds(opts.positionIds, B, T);
    const { family, dims } = this;
    const ctx = this.context(opts.ops, opts.dropoutSeed, opts.positionIds);
    const L = this.sizes.num_hidden_layers;
    const attend = fullCausalAttention(ctx.ops, ctx.positionIds);
    const grads: Grads = new Map();
    // Each part's trained parameters: all of its own, or with LoRA its adapter tensors and modules_to_save's.
    const trainable = this.trainable;
    const trained = (names: string[], layer: number) => [
      ...names.filter((n) => trainable.has(n)),
      ...(this.lora?.layerParameters(layer) ?? []),
    ];
    // A parameter read by two parts (a head tied to the embedding) gets the sum of their gradients.
    const collect = (names: string[], g: (tf.Tensor | null)[]) =>
      names.forEach((n, i) => {
        const gi = g[i];
        if (!gi) throw new Error(`the loss does not depend on parameter '${n}'`);
        const before = grads.get(n);
        grads.set(n, before ? tf.add(before, gi) : gi);
        if (before) tf.dispose([before, gi]);
      });
    // Forward, one block at a time with nothing recorded: keep only the block inputs xs[0..L].
    // Dropout masks are functions of (seed, layer, site), so the recomputations below drop what this pass dropped.
    const xs: tf.Tensor2D[] = [tf.tidy(() => family.embed(ctx, tokens, B, T, 0))];
    for (let l = 0; l < L; l++) xs.push(tf.tidy(() => family.block(ctx, l, xs[l], B, T, attend)));
    // Head: loss and gradients for the last block's output and the head's parameters.
    const targetT = tf.tensor1d(targets, 'int32');
    const headNames = trained(family.headParameters(dims), -1);
    const head = gradients(
      () => this.head(ctx, xs[L], targetT, count),
      [xs[L], ...headNames.map((n) => this.p(n))],
      null,
      backward,
    );
    targetT.dispose();
    collect(headNames, head.grads.slice(1));
    let dx = head.grads[0] as tf.Tensor2D;
    // Blocks backwards: recompute block l from its input, then its gradients given dx.
    for (let l = L - 1; l >= 0; l--) {
      const names = trained(family.blockParameters(dims, l), l);
      const g = gradients(
        () => family.block(ctx, l, xs[l], B, T, attend),
        [xs[l], ...names.map((n) => this.p(n))],
        dx,
        backward,
      );
      tf.dispose([g.value, dx, xs[l + 1]]);
      collect(names, g.grads.slice(1));
      dx = g.grads[0] as tf.Tensor2D;
    }
    const embedNames = family.embeddingParameters(dims).filter((n) => trainable.has(n));
    if (embedNames.length > 0) {
      const e = gradients(
        () => family.embed(ctx, tokens, B, T, 0),
        embedNames.map((n) => this.p(n)),
        dx,
        backward,
      );
      tf.dispose(e.value);
      collect(embedNames, e.grads);
    }
    tf.dispose([dx, xs[0]]);
    return { loss: head.value as tf.Scalar, grads: new Map([...trainable.keys()].map((n) => [n, grads.get(n)!])) };
  }

  /** What the summed loss is divided by: numItemsInBatch when given, else this batch's counted targets. */
  private divisor(tokens: Int32Array, targets: Int32Array, opts: LossOptions): number {
    const count = this.countTargets(tokens, targets);
    const n = opts.numItemsInBatch;
    if (n === undefined) return count;
    if (!(Number.isInteger(n) && n >= count))
      throw new Error(`numItemsInBatch ${n} is fewer than this batch's ${count} counted targets`);
    return n;
  }

  /** Counts the targets that are not −100 and checks the rest are in the vocabulary. */
  private countTargets(tokens: Int32Array, targets: Int32Array): number {
    if (targets.length !== tokens.length)
      throw new Error(`targets (${targets.length}) and tokens (${tokens.length}) differ in length`);
    return countTargets(targets, this.sizes.vocab_size);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    this.lora?.dispose();
    for (const w of this.halfBase.values()) w.half.packed.dispose();
    this.halfBase.clear();
  }
}

/** The rows of the last position of each sequence: (B·T, C) → (B, C). */
export function lastPositions(x: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
  if (T === 1) return x;
  const C = x.shape[1];
  return tf.reshape(tf.slice(tf.reshape(x, [B, T, C]), [0, T - 1, 0], [B, 1, C]), [B, C]);
}
