// tfjs on our device: tfjs-backend-webgpu's own kernels and ours share one GPUDevice and one
// command encoder, so their work is ordered without extra synchronisation.
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { getGpu, isNode, type GpuContext } from './device.ts';

export { tf };

let ready: Promise<GpuContext> | null = null;

/** Makes tfjs's 'webgpu' backend run on Hearth's device and selects it. Safe to call many times. */
export function initTf(): Promise<GpuContext> {
  ready ??= (async () => {
    const ctx = await getGpu();
    await registerGradients();
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new WebGPUBackend(ctx.device, ctx.adapter.info), 10);
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its WebGPU backend');
    await tf.ready();
    return ctx;
  })().catch((e) => {
    ready = null;
    throw e;
  });
  return ready;
}

/**
 * tfjs-core registers no gradients by itself. In a browser bundle we take its ESM module that registers them;
 * plain Node cannot load that module (its imports have no file extensions), so there we load the union package,
 * whose Node build registers them on the same tfjs-core instance. A bundle for Node (the device kit's) carries that
 * ESM module and has run it before this.
 */
async function registerGradients(): Promise<void> {
  if (tf.getGradient(tf.Add)) return;
  if (isNode()) {
    const union = '@tensorflow/tfjs';
    await import(/* @vite-ignore */ union);
  } else {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  }
}

export function webgpuBackend(): WebGPUBackend {
  const b = tf.backend();
  if (!(b instanceof WebGPUBackend)) throw new Error(`expected the webgpu backend, got ${tf.getBackend()}`);
  return b;
}

/**
 * Submits everything tfjs (and our kernels, recorded into its encoder) has queued, then resolves once the GPU has
 * run it. submitQueue finishes the current encoder, so there must be one: tfjs's own reads make the same three calls.
 */
export async function finishQueuedWork(ctx: GpuContext): Promise<void> {
  const backend = webgpuBackend();
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  await ctx.device.queue.onSubmittedWorkDone();
}
