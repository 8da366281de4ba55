// GPT-2 on tfjs: parameters under GPT-2's names in Hugging Face's layouts, a forward pass written once
// against `Ops` (our kernels by default, stock tfjs ops for comparison), and the mean next-token loss.
import * as tf from '@tensorflow/tfjs-core';
import { innerDim, parameterShapes, validateDims, type GPTDims } from './config.ts';
import type { Ops } from './ops.ts';
import { kernelOps } from './kernel_ops.ts';
import { Random } from '../util/random.ts';

export type NamedArrays = Map<string, { shape: number[]; data: Float32Array }>;

export interface ForwardOptions {
  ops?: Ops;
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
    for (const [name, v] of this.params) out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    return out;
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`no parameter '${name}'`);
    return v;
  }

  /** Final hidden states after ln_f, (B·T, C). tokens: (B, T) row-major. */
  hidden(tokens: Int32Array, B: number, T: number, opts: ForwardOptions = {}): tf.Tensor2D {
    const ops = opts.ops ?? kernelOps;
    const d = this.dims;
    const C = d.n_embd;
    const M = B * T;
    if (tokens.length !== M) throw new Error(`expected ${M} tokens for batch ${B} × block ${T}, got ${tokens.length}`);
    if (T > d.n_positions) throw new Error(`block of ${T} tokens exceeds n_positions ${d.n_positions}`);
    const eps = d.layer_norm_epsilon;
    const w1 = (n: string) => this.p(n) as unknown as tf.Tensor1D;
    const w2 = (n: string) => this.p(n) as unknown as tf.Tensor2D;
    return tf.tidy(() => {
      let x = tf.reshape(ops.embedding(tokens, B, T, w2('wte.weight'), w2('wpe.weight')), [M, C]) as tf.Tensor2D; // (B·T, C)
      for (let l = 0; l < d.n_layer; l++) {
        const n = (s: string) => `h.${l}.${s}`;
        const a = ops.layerNorm(x, w1(n('ln_1.weight')), w1(n('ln_1.bias')), eps);
        const qkv = ops.matmul(a, w2(n('attn.c_attn.weight')), { bias: w1(n('attn.c_attn.bias')) }); // (B·T, 3C)
        const att = ops.attention(tf.reshape(qkv, [B, T, 3 * C]) as tf.Tensor3D, d.n_head); // (B, T, C)
        const proj = ops.matmul(tf.reshape(att, [M, C]) as tf.Tensor2D, w2(n('attn.c_proj.weight')), { bias: w1(n('attn.c_proj.bias')) });
        x = tf.add(x, proj);
        const m = ops.layerNorm(x, w1(n('ln_2.weight')), w1(n('ln_2.bias')), eps);
        const h = ops.matmul(m, w2(n('mlp.c_fc.weight')), { bias: w1(n('mlp.c_fc.bias')), activation: 'gelu' }); // (B·T, 4C)
        const mlp = ops.matmul(h, w2(n('mlp.c_proj.weight')), { bias: w1(n('mlp.c_proj.bias')) });
        x = tf.add(x, mlp);
      }
      return ops.layerNorm(x, w1('ln_f.weight'), w1('ln_f.bias'), eps);
    });
  }

  /** Logits (B·T, V): the head is tied to the token embedding, logits = h · wteᵀ. */
  forward(tokens: Int32Array, B: number, T: number, opts: ForwardOptions = {}): tf.Tensor2D {
    const ops = opts.ops ?? kernelOps;
    return tf.tidy(() => ops.matmul(this.hidden(tokens, B, T, opts), this.p('wte.weight') as unknown as tf.Tensor2D, { transposeB: true }));
  }

  /**
   * Mean next-token cross-entropy over the targets that are not −100 (Hugging Face's ignore index).
   * targets are already shifted: targets[b, t] is the token that follows tokens[b, t].
   */
  loss(tokens: Int32Array, targets: Int32Array, B: number, T: number, opts: ForwardOptions = {}): tf.Scalar {
    const ops = opts.ops ?? kernelOps;
    if (targets.length !== tokens.length) throw new Error(`targets (${targets.length}) and tokens (${tokens.length}) differ in length`);
    let count = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t === -100) continue;
      if (t < 0 || t >= this.dims.vocab_size) throw new Error(`target id ${t} is outside the vocabulary (${this.dims.vocab_size})`);
      count++;
    }
    return tf.tidy(() => {
      const logits = this.forward(tokens, B, T, opts);
      const rows = ops.crossEntropy(logits, tf.tensor1d(targets, 'int32'));
      return tf.div(tf.sum(rows), Math.max(count, 1)) as tf.Scalar;
    });
  }

  /** The loss and the gradient of every parameter (by name). */
  lossAndGrads(tokens: Int32Array, targets: Int32Array, B: number, T: number, opts: ForwardOptions = {}): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
    // tfjs keys gradients by its own (globally unique) variable names, which differ from GPT-2's names so that
    // several models can live side by side.
    const names = [...this.params.keys()];
    const vars = names.map((n) => this.params.get(n)!);
    const { value, grads } = tf.variableGrads(() => this.loss(tokens, targets, B, T, opts), vars);
    return { loss: value, grads: new Map(names.map((n, i) => [n, grads[vars[i].name]])) };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }

  get innerDim(): number {
    return innerDim(this.dims);
  }
}
