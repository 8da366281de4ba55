// AdamW over a model's named parameters, with global-norm gradient clipping computed on the GPU (neither the norm
// nor the clip factor comes back to the CPU inside a step).
//
// By default the update is multi-tensor: the optimizer keeps every parameter, gradient and moment packed into one
// flat buffer each (tensors that take weight decay first), so a step is a few buffer copies (no pipelines, no bind
// groups) and three dispatches, the norm's two and one AdamW over everything, instead of two dispatches and three
// new tensors per parameter. The model's variables stay ordinary tfjs variables: each step packs the gradients,
// updates the packed copy, then gives every variable a new buffer copied from it (as `assign` always did). A
// variable whose data changed behind the optimizer's back (a load, an `assign` elsewhere) is noticed by its data
// id and packed again before the update. `multiTensor: false` keeps the per-tensor kernels, for comparison.
import * as tf from '@tensorflow/tfjs-core';
import { adamw, adamwLossScaled, adamwMultiTensor, clipScale, sumOfSquares } from '../kernels/adamw/index.ts';
import { allocate, copyElements } from '../kernels/runtime.ts';
import type { LossScaler } from './loss_scaler.ts';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this (Hugging Face's max_grad_norm); 0 or Infinity turns clipping off */
  maxGradNorm: number;
  /** one packed update for all parameters (default) or one per parameter */
  multiTensor: boolean;
}

export const ADAMW_DEFAULTS: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  maxGradNorm: 1,
  multiTensor: true,
};

/** Hugging Face's grouping: no weight decay on biases and LayerNorm weights; everything else decays. */
export function decays(name: string): boolean {
  return !(name.endsWith('.bias') || /(^|\.)ln_(\d|f)\.weight$/.test(name));
}

export interface OptimizerState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** Where each parameter lives in the packed buffers: decaying tensors first, then the rest. */
interface Packing {
  offsets: Map<string, number>;
  decayEnd: number;
  total: number;
}

function packing(params: Map<string, tf.Variable>): Packing {
  const names = [...params.keys()];
  const ordered = [...names.filter(decays), ...names.filter((n) => !decays(n))];
  const offsets = new Map<string, number>();
  let total = 0;
  let decayEnd = 0;
  for (const n of ordered) {
    offsets.set(n, total);
    total += params.get(n)!.size;
    if (decays(n)) decayEnd = total;
  }
  return { offsets, decayEnd, total };
}

/** Per-tensor moments (the comparison path). */
interface PerTensorMoments {
  m: Map<string, tf.Variable>;
  v: Map<string, tf.Variable>;
}

/** Packed state (the default path); param and grad are scratch that persists between steps. */
interface PackedState {
  layout: Packing;
  param: tf.Tensor1D;
  grad: tf.Tensor1D;
  m: tf.Tensor1D;
  v: tf.Tensor1D;
  /** each variable's data id when `param` last held its values */
  packedData: Map<string, object>;
}

export class AdamW {
  readonly opts: AdamWOptions;
  private readonly params: Map<string, tf.Variable>;
  private perTensor: PerTensorMoments | null = null;
  private packed: PackedState | null = null;
  /** number of updates applied so far (PyTorch's `step`, 1-based inside `apply`) */
  step = 0;

  constructor(params: Map<string, tf.Variable>, opts: Partial<AdamWOptions> = {}) {
    this.opts = { ...ADAMW_DEFAULTS, ...opts };
    this.params = params;
    if (this.opts.multiTensor) {
      const layout = packing(params);
      const zeros = () => tf.zeros([layout.total]) as tf.Tensor1D;
      this.packed = { layout, param: zeros(), grad: zeros(), m: zeros(), v: zeros(), packedData: new Map() };
    } else {
      this.perTensor = { m: new Map(), v: new Map() };
      for (const [name, p] of params) {
        // in a tidy: the zeros each variable starts from are released, the variables stay
        tf.tidy(() => {
          this.perTensor!.m.set(name, tf.variable(tf.zerosLike(p), false));
          this.perTensor!.v.set(name, tf.variable(tf.zerosLike(p), false));
        });
      }
    }
  }

  private gradientsInOrder(grads: Map<string, tf.Tensor>): tf.Tensor[] {
    return [...this.params].map(([n, p]) => {
      const g = grads.get(n);
      if (!g) throw new Error(`no gradient for parameter '${n}'`);
      if (g.size !== p.size) throw new Error(`gradient for '${n}' has shape [${g.shape}], the parameter [${p.shape}]`);
      return g;
    });
  }

  /**
   * One update with learning rate `lr`. Returns the global gradient norm (before clipping) as a GPU scalar;
   * reading it is the caller's choice (the trainer reads it asynchronously, for logging).
   *
   * With a `lossScaler` (mixed precision) the gradients carry its scale: the scaler decides on the GPU whether they
   * are finite, and the update unscales them, or is skipped whole. The returned norm is then the unscaled one (inf
   * or NaN for a skipped step), and the bias correction counts applied updates only (the scaler's), not `step`.
   * So can the learning rate: given `lrSchedule` (float32, the rate after k applied updates), the update takes its
   * rate from there on the GPU and `lr` is not used, so a skipped step does not advance the schedule.
   */
  apply(grads: Map<string, tf.Tensor>, lr: number, lossScaler?: LossScaler, lrSchedule?: tf.Tensor1D): tf.Scalar {
    const gs = this.gradientsInOrder(grads);
    if (lossScaler && !this.packed) throw new Error('AdamW: loss scaling (fp16) needs the multi-tensor update');
    this.step++;
    if (this.packed) return this.applyPacked(this.packed, gs, lr, lossScaler && { scaler: lossScaler, lrSchedule });
    return this.applyPerTensor(this.perTensor!, gs, lr);
  }

  private hyper(lr: number, weightDecay: number) {
    const { beta1, beta2, eps } = this.opts;
    return { lr, beta1, beta2, eps, weightDecay, step: this.step };
  }

  private applyPacked(
    s: PackedState,
    gs: tf.Tensor[],
    lr: number,
    scaling?: { scaler: LossScaler; lrSchedule?: tf.Tensor1D },
  ): tf.Scalar {
    const names = [...this.params.keys()];
    names.forEach((name, i) => {
      const p = this.params.get(name)!;
      const offset = s.layout.offsets.get(name)!;
      copyElements(gs[i], 0, s.grad, offset, p.size);
      if (s.packedData.get(name) !== p.dataId) copyElements(p, 0, s.param, offset, p.size);
    });
    let norm = sumOfSquares([s.grad], undefined, true);
    if (scaling) {
      const unscaledNorm = scaling.scaler.update(norm);
      const { beta1, beta2, eps } = this.opts;
      const schedule = scaling.lrSchedule ?? tf.tensor1d([lr]);
      adamwLossScaled(s.param, s.grad, s.m, s.v, norm, scaling.scaler.state, schedule, {
        beta1,
        beta2,
        eps,
        weightDecay: this.opts.weightDecay,
        decayEnd: s.layout.decayEnd,
        maxNorm: this.opts.maxGradNorm,
      });
      if (schedule !== scaling.lrSchedule) schedule.dispose();
      norm.dispose();
      norm = unscaledNorm;
    } else {
      adamwMultiTensor(s.param, s.grad, s.m, s.v, norm, {
        ...this.hyper(lr, this.opts.weightDecay),
        decayEnd: s.layout.decayEnd,
        maxNorm: this.opts.maxGradNorm,
      });
    }
    for (const name of names) {
      const p = this.params.get(name)!;
      const updated = allocate(p.shape, 'float32');
      copyElements(s.param, s.layout.offsets.get(name)!, updated, 0, p.size);
      const t = tf.engine().makeTensorFromTensorInfo(updated);
      p.assign(t);
      t.dispose();
      s.packedData.set(name, p.dataId);
    }
    return norm;
  }

  private applyPerTensor(s: PerTensorMoments, gs: tf.Tensor[], lr: number): tf.Scalar {
    const sumSq = sumOfSquares(gs);
    const norm = tf.sqrt(sumSq) as tf.Scalar;
    const clip = this.opts.maxGradNorm > 0 && Number.isFinite(this.opts.maxGradNorm);
    const scale = clip ? clipScale(sumSq, this.opts.maxGradNorm) : undefined;
    [...this.params].forEach(([name, p], i) => {
      const m = s.m.get(name)!;
      const v = s.v.get(name)!;
      const out = adamw(p, gs[i], m, v, this.hyper(lr, decays(name) ? this.opts.weightDecay : 0), scale);
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
    if (this.packed) {
      const s = this.packed;
      // Read from copies: the packed buffers change in place, and tfjs keeps a CPU copy of whatever it has read.
      const read = async (flat: tf.Tensor1D) => {
        const copy = allocate([s.layout.total], 'float32');
        copyElements(flat, 0, copy, 0, s.layout.total);
        const t = tf.engine().makeTensorFromTensorInfo(copy);
        const data = (await t.data()) as Float32Array;
        t.dispose();
        const out = new Map<string, Float32Array>();
        for (const [n, p] of this.params) {
          const offset = s.layout.offsets.get(n)!;
          out.set(n, data.slice(offset, offset + p.size));
        }
        return out;
      };
      return { step: this.step, m: await read(s.m), v: await read(s.v) };
    }
    const read = async (src: Map<string, tf.Variable>) => {
      const out = new Map<string, Float32Array>();
      for (const [n, t] of src) out.set(n, (await t.data()) as Float32Array);
      return out;
    };
    return { step: this.step, m: await read(this.perTensor!.m), v: await read(this.perTensor!.v) };
  }

  setState(state: OptimizerState): void {
    const check = (src: Map<string, Float32Array>, what: string) => {
      for (const [n, p] of this.params) {
        const a = src.get(n);
        if (!a || a.length !== p.size)
          throw new Error(`optimizer state: ${what} for '${n}' is missing or has the wrong size`);
      }
    };
    check(state.m, 'first moment');
    check(state.v, 'second moment');
    if (this.packed) {
      const s = this.packed;
      const pack = (src: Map<string, Float32Array>) => {
        const flat = new Float32Array(s.layout.total);
        for (const [n, offset] of s.layout.offsets) flat.set(src.get(n)!, offset);
        return tf.tensor1d(flat);
      };
      const [m, v] = [pack(state.m), pack(state.v)];
      tf.dispose([s.m, s.v]);
      s.m = m;
      s.v = v;
    } else {
      const load = (dst: Map<string, tf.Variable>, src: Map<string, Float32Array>) => {
        for (const [n, t] of dst) {
          const tmp = tf.tensor(src.get(n)!, t.shape);
          t.assign(tmp);
          tmp.dispose();
        }
      };
      load(this.perTensor!.m, state.m);
      load(this.perTensor!.v, state.v);
    }
    this.step = state.step;
  }

  dispose(): void {
    if (this.packed) {
      const s = this.packed;
      tf.dispose([s.param, s.grad, s.m, s.v]);
      this.packed = null;
    }
    if (this.perTensor) {
      tf.dispose([...this.perTensor.m.values(), ...this.perTensor.v.values()]);
      this.perTensor = null;
    }
  }
}
