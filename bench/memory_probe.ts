// What a training step really holds in GPU memory, for the bench and the tests that check the estimate
// (estimateTrainingMemory) against it.
//
// Measured as buffers: tfjs's pool counts the bytes of the buffers it has handed out and not yet taken back, and the
// peak of that count is what the GPU must have room for. tf.profile's peakBytes counts tensors instead, so a buffer
// shared by several tensors (a reshape, the clone tfjs saves for a gradient) counts once per tensor there; and the
// pool's total size only grows, so it says little of one step.
import { tf } from '../src/core/gpu/tf.ts';
import { CausalLM } from '../src/core/model/causal_lm.ts';
import type { ModelDims } from '../src/core/model/families/index.ts';
import { adamwKindFor, type AdamWKind } from '../src/core/model/memory.ts';
import type { BackwardKind } from '../src/core/model/backward.ts';
import { Random } from '../src/core/util/random.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { MixedPrecision } from '../src/core/train/mixed_precision.ts';
import type { LoraConfig } from '../src/core/model/lora/config.ts';
import { programTimes } from './profile.ts';

interface BufferPool {
  numBytesUsed: number;
  acquireBuffer(...args: unknown[]): GPUBuffer;
}

/** Bytes of GPU buffers tfjs's pool has handed out and not taken back. */
const buffersInUse = (): number =>
  (tf.backend() as unknown as { bufferManager: BufferPool }).bufferManager.numBytesUsed;

/** Runs `work` and returns its result with the peak bytes of GPU buffers in use while it ran (held ones included). */
async function measurePeakBuffers<T>(work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  const pool = (tf.backend() as unknown as { bufferManager: BufferPool }).bufferManager;
  const own = Object.prototype.hasOwnProperty.call(pool, 'acquireBuffer');
  const acquire = pool.acquireBuffer;
  let peakBytes = pool.numBytesUsed;
  // The count only grows inside acquireBuffer, so its peak is seen right after one.
  pool.acquireBuffer = function (this: BufferPool, ...args: unknown[]) {
    const buffer = acquire.apply(this, args);
    peakBytes = Math.max(peakBytes, this.numBytesUsed);
    return buffer;
  };
  try {
    return { result: await work(), peakBytes };
  } finally {
    if (own) pool.acquireBuffer = acquire;
    else delete (pool as Partial<BufferPool>).acquireBuffer;
  }
}

export interface StepMemoryOptions {
  checkpoint?: boolean;
  fp16?: boolean;
  /** by default the trainer's choice */
  optimizer?: AdamWKind;
  /** by default the freeing backward, the trainer's */
  backward?: BackwardKind;
  /** a new LoRA adapter on the frozen model: AdamW over the adapter alone, as the trainer runs it */
  lora?: LoraConfig;
  /** with lora: the frozen linear weights held in f16 (attachLora's halfBase), as the CLI and the page train */
  halfBase?: boolean;
}

export interface StepMemory {
  /** peak bytes of GPU buffers in use, the model and optimizer included */
  buffers: number;
  /** tfjs's peak count of tensor bytes (everything alive included) */
  tensors: number;
  /** every GPU dispatch of the step in order, as "operation: kernel": the work the GPU was given */
  dispatches: string[];
}

/**
 * A fresh model's second training step (forward, backward, AdamW; the first makes the moments, as every later step
 * finds them): the peak bytes of GPU buffers it holds, not counting what was in use before the model was made, and
 * the dispatches it made.
 */
export async function measureTrainingStep(
  dims: ModelDims,
  B: number,
  T: number,
  opts: StepMemoryOptions = {},
): Promise<StepMemory> {
  const before = buffersInUse();
  const model = CausalLM.init(dims, 1);
  if (opts.lora) model.attachLora(opts.lora, { seed: 2, halfBase: opts.halfBase });
  // with halfBase the float32 copies go once read back to the CPU
  if (opts.halfBase) await model.toArrays();
  const optimizer = new AdamW(model.trainable, {
    multiTensor: (opts.optimizer ?? adamwKindFor(dims, opts.fp16)) === 'packed',
  });
  const mixed = opts.fp16 ? new MixedPrecision() : null;
  const rng = new Random(3);
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(dims.vocab_size));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(dims.vocab_size));
  const step = async () => {
    // a dropout seed, as in training: the model's dropouts (if any) run
    const r = model.lossAndGrads(tokens, targets, B, T, {
      checkpoint: opts.checkpoint,
      backward: opts.backward,
      dropoutSeed: 1,
      ...(mixed ? { ops: mixed.ops } : {}),
    });
    const norm = optimizer.apply(r.grads, 1e-4, mixed?.scaler);
    mixed?.endStep();
    await r.loss.data();
    tf.dispose([r.loss, norm, ...r.grads.values()]);
  };
  try {
    await step();
    const { result: profile, peakBytes } = await measurePeakBuffers(() => tf.profile(step));
    const dispatches = profile.kernels.flatMap((k) =>
      programTimes(String(k.extraInfo ?? '')).map(({ program }) => `${k.name}: ${program}`),
    );
    return { buffers: peakBytes - before, tensors: profile.peakBytes, dispatches };
  } finally {
    optimizer.dispose();
    mixed?.dispose();
    model.dispose();
  }
}
