// AdamW over a model's named parameters, on our fused kernel, with global-norm gradient clipping computed on
// the GPU (the clip factor never comes back to the CPU inside a step).
import * as tf from '@tensorflow/tfjs-core';
import { adamw, clipScale, sumOfSquares } from '../kernels/adamw/index.ts';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this (Hugging Face's max_grad_norm); 0 or Infinity turns clipping off */
  maxGradNorm: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

/** Hugging Face's grouping: no weight decay on biases and LayerNorm weights; everything else decays. */
export function decays(name: string): boolean {
  return !(name.endsWith('.bias') || /(^|\.)ln_(\d|f)\.weight$/.test(name));
}

export interface OptimizerState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly opts: AdamWOptions;
  private readonly params: Map<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** number of updates applied so far (PyTorch's `step`, 1-based inside `apply`) */
  step = 0;

  constructor(params: Map<string, tf.Variable>, opts: Partial<AdamWOptions> = {}) {
    this.opts = { ...ADAMW_DEFAULTS, ...opts };
    this.params = params;
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * One update with learning rate `lr`. Returns the global gradient norm (before clipping) as a GPU scalar;
   * reading it is the caller's choice (the trainer reads it asynchronously, for logging).
   */
  apply(grads: Map<string, tf.Tensor>, lr: number): tf.Scalar {
    this.step++;
    const names = [...this.params.keys()];
    const gs = names.map((n) => {
      const g = grads.get(n);
      if (!g) throw new Error(`no gradient for parameter '${n}'`);
      return g;
    });
    const sumSq = sumOfSquares(gs);
    const norm = tf.sqrt(sumSq) as tf.Scalar;
    const clip = this.opts.maxGradNorm > 0 && Number.isFinite(this.opts.maxGradNorm);
    const scale = clip ? clipScale(sumSq, this.opts.maxGradNorm) : undefined;
    names.forEach((name, i) => {
      const p = this.params.get(name)!;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const out = adamw(p, gs[i], m, v, {
        lr,
        beta1: this.opts.beta1,
        beta2: this.opts.beta2,
        eps: this.opts.eps,
        weightDecay: decays(name) ? this.opts.weightDecay : 0,
        step: this.step,
      }, scale);
      p.assign(out.param);
      m.assign(out.m);
      v.assign(out.v);
      tf.dispose([out.param, out.m, out.v]);
    });
    tf.dispose(sumSq);
    if (scale) scale.dispose();
    return norm;
  }

  async getState(): Promise<OptimizerState> {
    const read = async (src: Map<string, tf.Variable>) => {
      const out = new Map<string, Float32Array>();
      for (const [n, t] of src) out.set(n, (await t.data()) as Float32Array);
      return out;
    };
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  setState(state: OptimizerState): void {
    const load = (dst: Map<string, tf.Variable>, src: Map<string, Float32Array>, what: string) => {
      for (const [n, t] of dst) {
        const a = src.get(n);
        if (!a || a.length !== t.size) throw new Error(`optimizer state: ${what} for '${n}' is missing or has the wrong size`);
        const tmp = tf.tensor(a, t.shape);
        t.assign(tmp);
        tmp.dispose();
      }
    };
    load(this.m, state.m, 'first moment');
    load(this.v, state.v, 'second moment');
    this.step = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
