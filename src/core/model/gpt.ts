// GPT-2 on tfjs: parameters under GPT-2's names in Hugging Face's layouts, a forward pass written once
// against `Ops` (our kernels by default, stock tfjs ops for comparison), and the mean next-token loss.
import * as tf from '@tensorflow/tfjs-core';
import { innerDim, parameterShapes, validateDims, type GPTDims } from './config.ts';
import type { Ops } from './ops.ts';
import { kernelOps } from './kernel_ops.ts';
import { Random } from '../util/random.ts';
import { siteSeed, type DropoutSite } from '../kernels/dropout/seeds.ts';

export type NamedArrays = Map<string, { shape: number[]; data: Float32Array }>;

export interface ForwardOptions {
  ops?: Ops;
  /**
   * Training: dropout at the model's rates (embd_pdrop, attn_pdrop, resid_pdrop), every mask hashed from this seed
   * and its (layer, site), so a block recomputed for gradient checkpointing draws its forward's masks. Absent
   * (evaluation, generation): no dropout.
   */
  dropoutSeed?: number;
}

function toVariable(data: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(data, shape);
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

export class GPT {
  readonly dims: GPTDims;
  /** every trainable parameter, by GPT-2 name; lm_head is tied to wte.weight */
  readonly params: Map<string, tf.Variable>;

  private constructor(dims: GPTDims, params: Map<string, tf.Variable>) {
    this.dims = dims;
    this.params = params;
  }

  /**
   * A new model with GPT-2's initialisation: weights and embeddings N(0, 0.02), biases 0, LayerNorm 1/0, and the
   * residual projections (attn.c_proj, mlp.c_proj) N(0, 0.02/√(2·n_layer)) so the residual stream's variance does
   * not grow with depth (GPT-2 paper §2.3). Drawn on the CPU from `seed`, so it is the same on every device.
   */
  static init(dims: GPTDims, seed = 1337): GPT {
    validateDims(dims);
    const rng = new Random(seed);
    const std = 0.02;
    const residStd = std / Math.sqrt(2 * dims.n_layer);
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of parameterShapes(dims)) {
      const n = shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (name.endsWith('.bias')) data = new Float32Array(n);
      else if (/ln_\d\.weight$|ln_f\.weight$/.test(name)) data = new Float32Array(n).fill(1);
      else data = rng.normals(n, /c_proj\.weight$/.test(name) ? residStd : std);
      params.set(name, toVariable(data, shape));
    }
    return new GPT(dims, params);
  }

  /** A model from named float32 arrays (an import); every parameter must be present with its shape. */
  static fromArrays(dims: GPTDims, arrays: NamedArrays): GPT {
    validateDims(dims);
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of parameterShapes(dims)) {
      const a = arrays.get(name);
      if (!a) throw new Error(`missing parameter '${name}'`);
      if (a.shape.join(',') !== shape.join(',')) {
        throw new Error(`parameter '${name}' has shape [${a.shape}], expected [${shape}]`);
      }
      params.set(name, toVariable(a.data, shape));
    }
    return new GPT(dims, params);
  }

  /** Copies every parameter back to the CPU. */
  async toArrays(): Promise<NamedArrays> {
    const out: NamedArrays = new Map();
    for (const [name, v] of this.params)
      out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    return out;
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`no parameter '${name}'`);
    return v;
  }

  private checkTokens(tokens: Int32Array, B: number, T: number): void {
    if (tokens.length !== B * T)
      throw new Error(`expected ${B * T} tokens for batch ${B} × block ${T}, got ${tokens.length}`);
    if (T > this.dims.n_positions) throw new Error(`block of ${T} tokens exceeds n_positions ${this.dims.n_positions}`);
  }

  private w1 = (n: string) => this.p(n) as unknown as tf.Tensor1D;
  private w2 = (n: string) => this.p(n) as unknown as tf.Tensor2D;

  /** x with dropout at rate p when training (a seed given) and p > 0; x itself otherwise. */
  private drop(
    x: tf.Tensor2D,
    p: number | undefined,
    seed: number | undefined,
    layer: number,
    site: DropoutSite,
    ops: Ops,
  ): tf.Tensor2D {
    return seed !== undefined && p ? ops.dropout(x, p, siteSeed(seed, layer, site)) : x;
  }

  /** Token + position embeddings, (B·T, C), then embd_pdrop when training. */
  private embed(tokens: Int32Array, B: number, T: number, ops: Ops, seed?: number): tf.Tensor2D {
    const x = tf.reshape(ops.embedding(tokens, B, T, this.w2('wte.weight'), this.w2('wpe.weight')), [
      B * T,
      this.dims.n_embd,
    ]) as tf.Tensor2D;
    return this.drop(x, this.dims.embd_pdrop, seed, -1, 'embedding', ops);
  }

  /** Transformer block l: x + attn(ln_1(x)), then + mlp(ln_2(·)). x: (B·T, C). With a seed, HF's three dropouts. */
  private block(l: number, x: tf.Tensor2D, B: number, T: number, ops: Ops, seed?: number): tf.Tensor2D {
    const { n_embd: C, n_head, layer_norm_epsilon: eps } = this.dims;
    const M = B * T;
    const { w1, w2 } = this;
    const n = (s: string) => `h.${l}.${s}`;
    const a = ops.layerNorm(x, w1(n('ln_1.weight')), w1(n('ln_1.bias')), eps);
    const qkv = ops.matmul(a, w2(n('attn.c_attn.weight')), { bias: w1(n('attn.c_attn.bias')) }); // (B·T, 3C)
    const attnP = seed !== undefined ? (this.dims.attn_pdrop ?? 0) : 0;
    const attnDropout = attnP > 0 ? { p: attnP, seed: siteSeed(seed!, l, 'attention') } : undefined;
    const att = ops.attention(tf.reshape(qkv, [B, T, 3 * C]) as tf.Tensor3D, n_head, attnDropout); // (B, T, C)
    const resid = this.dims.resid_pdrop;
    const proj = this.drop(
      ops.matmul(tf.reshape(att, [M, C]) as tf.Tensor2D, w2(n('attn.c_proj.weight')), {
        bias: w1(n('attn.c_proj.bias')),
      }),
      resid,
      seed,
      l,
      'attentionResidual',
      ops,
    );
    const [ln2w, ln2b] = [w1(n('ln_2.weight')), w1(n('ln_2.bias'))];
    let mid: tf.Tensor2D;
    let m: tf.Tensor2D;
    if (ops.addLayerNorm)
      [mid, m] = ops.addLayerNorm(x, proj, ln2w, ln2b, eps); // the residual add and ln_2 in one kernel
    else {
      mid = tf.add(x, proj) as tf.Tensor2D;
      m = ops.layerNorm(mid, ln2w, ln2b, eps);
    }
    const h = ops.matmul(m, w2(n('mlp.c_fc.weight')), { bias: w1(n('mlp.c_fc.bias')), activation: 'gelu' }); // (B·T, 4C)
    const mlp = this.drop(
      ops.matmul(h, w2(n('mlp.c_proj.weight')), { bias: w1(n('mlp.c_proj.bias')) }),
      resid,
      seed,
      l,
      'mlpResidual',
      ops,
    );
    return tf.add(mid, mlp);
  }

  /** Mean next-token loss from the last block's output: ln_f, the tied head (logits = h · wteᵀ), cross-entropy. */
  private head(x: tf.Tensor2D, targets: tf.Tensor1D, count: number, ops: Ops): tf.Scalar {
    const h = ops.layerNorm(x, this.w1('ln_f.weight'), this.w1('ln_f.bias'), this.dims.layer_norm_epsilon);
    const logits = ops.matmul(h, this.w2('wte.weight'), { transposeB: true }); // (B·T, V)
    if (ops.crossEntropyMean) return ops.crossEntropyMean(logits, targets, count);
    return tf.div(tf.sum(ops.crossEntropy(logits, targets)), Math.max(count, 1));
  }

  /** Final hidden states after ln_f, (B·T, C). tokens: (B, T) row-major. */
  hidden(tokens: Int32Array, B: number, T: number, opts: ForwardOptions = {}): tf.Tensor2D {
    const ops = opts.ops ?? kernelOps;
    this.checkTokens(tokens, B, T);
    return tf.tidy(() => {
      let x = this.embed(tokens, B, T, ops, opts.dropoutSeed);
      for (let l = 0; l < this.dims.n_layer; l++) x = this.block(l, x, B, T, ops, opts.dropoutSeed);
      return ops.layerNorm(x, this.w1('ln_f.weight'), this.w1('ln_f.bias'), this.dims.layer_norm_epsilon);
    });
  }

  /** Logits (B·T, V): the head is tied to the token embedding, logits = h · wteᵀ. */
  forward(tokens: Int32Array, B: number, T: number, opts: ForwardOptions = {}): tf.Tensor2D {
    const ops = opts.ops ?? kernelOps;
    return tf.tidy(() => ops.matmul(this.hidden(tokens, B, T, opts), this.w2('wte.weight'), { transposeB: true }));
  }

  /** Counts the targets that are not −100 and checks the rest are in the vocabulary. */
  private countTargets(tokens: Int32Array, targets: Int32Array): number {
    if (targets.length !== tokens.length)
      throw new Error(`targets (${targets.length}) and tokens (${tokens.length}) differ in length`);
    let count = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t === -100) continue;
      if (t < 0 || t >= this.dims.vocab_size)
        throw new Error(`target id ${t} is outside the vocabulary (${this.dims.vocab_size})`);
      count++;
    }
    return count;
  }

  /**
   * Mean next-token cross-entropy over the targets that are not −100 (Hugging Face's ignore index).
   * targets are already shifted: targets[b, t] is the token that follows tokens[b, t].
   */
  loss(tokens: Int32Array, targets: Int32Array, B: number, T: number, opts: ForwardOptions = {}): tf.Scalar {
    const ops = opts.ops ?? kernelOps;
    const count = this.countTargets(tokens, targets);
    this.checkTokens(tokens, B, T);
    return tf.tidy(() => {
      let x = this.embed(tokens, B, T, ops, opts.dropoutSeed);
      for (let l = 0; l < this.dims.n_layer; l++) x = this.block(l, x, B, T, ops, opts.dropoutSeed);
      return this.head(x, tf.tensor1d(targets, 'int32'), count, ops);
    });
  }

  /**
   * The loss and the gradient of every parameter (by name). With `checkpoint`, activations are recomputed block by
   * block in the backward pass (gradient checkpointing): only each block's input is kept from the forward pass, so
   * activation memory is one block's worth plus n_layer × (B·T, C), for about a third more compute.
   */
  lossAndGrads(
    tokens: Int32Array,
    targets: Int32Array,
    B: number,
    T: number,
    opts: ForwardOptions & { checkpoint?: boolean } = {},
  ): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
    if (opts.checkpoint)
      return this.lossAndGradsRecomputed(tokens, targets, B, T, opts.ops ?? kernelOps, opts.dropoutSeed);
    // tfjs keys gradients by its own (globally unique) variable names, which differ from GPT-2's names so that
    // several models can live side by side.
    const names = [...this.params.keys()];
    const vars = names.map((n) => this.params.get(n)!);
    const { value, grads } = tf.variableGrads(() => this.loss(tokens, targets, B, T, opts), vars);
    return { loss: value, grads: new Map(names.map((n, i) => [n, grads[vars[i].name]])) };
  }

  private lossAndGradsRecomputed(
    tokens: Int32Array,
    targets: Int32Array,
    B: number,
    T: number,
    ops: Ops,
    seed?: number,
  ): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const count = this.countTargets(tokens, targets);
    this.checkTokens(tokens, B, T);
    const L = this.dims.n_layer;
    const grads = new Map<string, tf.Tensor>();
    const blockParams = (l: number) => [...this.params.keys()].filter((n) => n.startsWith(`h.${l}.`));
    // Forward, one block at a time with nothing recorded: keep only the block inputs xs[0..L].
    // Dropout masks are functions of (seed, layer, site), so the recomputations below drop what this pass dropped.
    const xs: tf.Tensor2D[] = [tf.tidy(() => this.embed(tokens, B, T, ops, seed))];
    for (let l = 0; l < L; l++) xs.push(tf.tidy(() => this.block(l, xs[l], B, T, ops, seed)));
    // Head: loss and gradients for the last block's output, ln_f and wte (as the head).
    const targetT = tf.tensor1d(targets, 'int32');
    const headNames = ['ln_f.weight', 'ln_f.bias', 'wte.weight'];
    const head = tf.valueAndGrads((x: tf.Tensor) => this.head(x as tf.Tensor2D, targetT, count, ops))([
      xs[L],
      ...headNames.map((n) => this.p(n)),
    ]);
    targetT.dispose();
    headNames.forEach((n, i) => grads.set(n, head.grads[i + 1]));
    let dx = head.grads[0] as tf.Tensor2D;
    // Blocks backwards: recompute block l from its input, then its gradients given dx.
    for (let l = L - 1; l >= 0; l--) {
      const names = blockParams(l);
      const g = tf.grads((x: tf.Tensor) => this.block(l, x as tf.Tensor2D, B, T, ops, seed))(
        [xs[l], ...names.map((n) => this.p(n))],
        dx,
      );
      tf.dispose([dx, xs[l + 1]]);
      names.forEach((n, i) => grads.set(n, g[i + 1]));
      dx = g[0] as tf.Tensor2D;
    }
    // Embeddings: wte's gradient adds to the head's (the weights are tied).
    const e = tf.grads(() => this.embed(tokens, B, T, ops, seed))([this.p('wte.weight'), this.p('wpe.weight')], dx);
    tf.dispose([dx, xs[0]]);
    const headWte = grads.get('wte.weight')!;
    grads.set('wte.weight', tf.add(headWte, e[0]));
    tf.dispose([headWte, e[0]]);
    grads.set('wpe.weight', e[1]);
    return { loss: head.value as tf.Scalar, grads: new Map([...this.params.keys()].map((n) => [n, grads.get(n)!])) };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }

  get innerDim(): number {
    return innerDim(this.dims);
  }
}
