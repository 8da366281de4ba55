// Running our own complete WGSL shaders on tfjs's device, inside tfjs's command stream.
//
// Each kernel is a `.wgsl` file in shaders/ with a `@compute` entry point, its storage buffers at
// @group(0) @binding(0..n-1) and (if it has any) a uniform struct of 4-byte scalars at the next binding. Its
// TypeScript definition (a KernelSpec) declares those buffers and uniforms by name, once; a dispatch passes them by
// name, and the declaration is checked against the WGSL when the pipeline is built (contract.ts). WGSL that kernels
// share is included (`// #include NAME`, from shaders/common); variants are specialised by rewriting `const`
// declarations and replacing marked regions (shader_source.ts), so each variant is a pure function of its
// specialisation, and its pipeline is cached under a key built from all of it, included text too.
//
// We record into tfjs-backend-webgpu's own command encoder and compute pass, so our dispatches and
// tfjs's are ordered as issued, tensors we produce are ordinary tfjs tensors, and tfjs's deferred
// release of buffers still in flight covers ours too.
import type { TensorInfo, DataType } from '@tensorflow/tfjs-core';
import { webgpuBackend } from '../gpu/tf.ts';
import { checkContract, type KernelContract } from './contract.ts';
import { buildShader, expandIncludes, type ConstValue } from './shader_source.ts';

export interface KernelSpec<B extends string = string, U extends string = string> extends KernelContract<B, U> {
  /** shader name, for the pipeline cache, the profiler and error messages */
  name: string;
  /** the WGSL source (a shaders/*.wgsl file), its `// #include` lines resolved from shaders/common */
  source: string;
  /** values for `const` declarations in the source */
  consts?: Record<string, ConstValue>;
  /** replacement text for `// #region NAME` … `// #endregion NAME` in the source (often include(FRAGMENT)) */
  regions?: Record<string, string>;
  entryPoint?: string;
}

export interface DispatchSpec<B extends string, U extends string> {
  kernel: KernelSpec<B, U>;
  /** the storage buffers, by the names the kernel declares */
  buffers: Record<NoInfer<B>, TensorInfo>;
  /** the uniform struct's fields, by name */
  uniforms: Record<NoInfer<U>, number>;
  workgroups: [number, number?, number?];
}

/** A kernel's definition, its contract's names kept as types so that dispatches are checked by the compiler too. */
export const defineKernel = <B extends string, U extends string = never>(spec: KernelSpec<B, U>): KernelSpec<B, U> =>
  spec;

/** Minimal view of tfjs-backend-webgpu internals that we rely on (stable in 4.x). */
interface BackendInternals {
  device: GPUDevice;
  queue: GPUQueue;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  uniformPendingDisposal: GPUBuffer[];
  tensorMap: { get(id: object): { resource: unknown; shape: number[]; dtype: DataType } };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(id: object): void;
  makeTensorInfo(shape: number[], dtype: DataType): TensorInfo;
  disposeData(id: object, force?: boolean): boolean;
  activeTimers?: { name: string; query: Promise<number> }[] | null;
  getQueryTime?(): Promise<number>;
}

const internals = (): BackendInternals => webgpuBackend() as unknown as BackendInternals;

let poisonOutputs = false;
/** Tests turn this on: every output buffer is filled with NaN before a kernel runs. */
export function setPoisonOutputs(on: boolean): void {
  poisonOutputs = on;
}

/** Whether outputs are being poisoned: lets an allocator of packed data poison with its own NaN pattern. */
export function poisoningOutputs(): boolean {
  return poisonOutputs;
}

/** How many dispatches to batch before submitting (tfjs's own default is 15). */
const SUBMIT_BATCH = 32;

// Sources and region texts are the same few imported strings on every dispatch: each is hashed once, with its
// includes resolved, so a key changes with the text of any fragment it includes.
const textHashes = new Map<string, string>();
function textHash(text: string): string {
  let h = textHashes.get(text);
  if (h === undefined) {
    const resolved = expandIncludes(text);
    let x = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < resolved.length; i++) x = Math.imul(x ^ resolved.charCodeAt(i), 0x01000193);
    textHashes.set(text, (h = `${(x >>> 0).toString(16)}:${resolved.length}`));
  }
  return h;
}

// A contract's buffers and uniforms as text for the pipeline key, worked out once per object (a kernel definition's,
// shared by all its dispatches): the same shader bound under another contract is another pipeline, checked in turn.
const contractTexts = new WeakMap<object, string>();
function contractText(o: Record<string, string> | undefined): string {
  if (!o) return '';
  let text = contractTexts.get(o);
  if (text === undefined) contractTexts.set(o, (text = Object.entries(o).join(';')));
  return text;
}

/** The one function that builds a pipeline's cache key from every field of its specialisation. */
export function pipelineKey(spec: KernelSpec): string {
  const consts = Object.entries(spec.consts ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const regions = Object.entries(spec.regions ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${textHash(v)}`)
    .join(',');
  return `${spec.name}|${spec.entryPoint ?? 'main'}|${textHash(spec.source)}|${consts}|${regions}|${contractText(spec.buffers)}|${contractText(spec.uniforms)}`;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** The kernel's pipeline, built (and its contract checked against the WGSL) on first use of its key. */
export function getPipeline(device: GPUDevice, spec: KernelSpec): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  const key = pipelineKey(spec);
  let p = cache.get(key);
  if (!p) {
    const entryPoint = spec.entryPoint ?? 'main';
    const code = buildShader(spec);
    checkContract(spec.name, code, entryPoint, spec);
    const module = device.createShaderModule({ label: spec.name, code });
    p = device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint } });
    cache.set(key, p);
  }
  return p;
}

/** A new tensor's storage on the GPU (poisoned with NaN when tests ask for it). */
export function allocate(shape: number[], dtype: DataType = 'float32'): TensorInfo {
  const b = internals();
  const info = b.makeTensorInfo(shape, dtype);
  b.uploadToGPU(info.dataId);
  if (poisonOutputs) {
    const buf = bufferOf(info);
    const n = buf.size / 4;
    const fill = dtype === 'float32' ? new Float32Array(n).fill(NaN) : new Int32Array(n).fill(-0x7fffffff);
    b.queue.writeBuffer(buf, 0, fill);
  }
  return info;
}

/** Releases a scratch tensor made by `allocate` (deferred by tfjs while work using it is queued). */
export function release(info: TensorInfo): void {
  internals().disposeData(info.dataId, true);
}

export function bufferOf(info: TensorInfo): GPUBuffer {
  const b = internals();
  b.uploadToGPU(info.dataId);
  const res = b.tensorMap.get(info.dataId).resource;
  if (!(res instanceof GPUBuffer)) throw new Error('expected a tensor stored in a GPU buffer');
  return res;
}

/**
 * Uniform buffers by content: a training step issues the same dispatches with the same sizes every step, so after
 * the first step every uniform comes from here, written once and never changed, instead of a pooled buffer and a
 * queue write per dispatch. (Bind groups are not cached: tfjs's pool hands a step's tensors other buffers each
 * step, so a cache keyed by buffers hit less than one time in five.) Past MAX_CACHED contents (generation's
 * uniforms change every step) the cache is emptied, and its buffers go back to tfjs's pool after the next submit,
 * as tfjs does with its own.
 */
const MAX_CACHED = 4096;
// Per backend, since the buffers come from (and die with) its pool.
const uniformCaches = new WeakMap<BackendInternals, Map<string, GPUBuffer>>();

function uniformBuffer(b: BackendInternals, spec: KernelSpec, values: Record<string, number>): GPUBuffer {
  const fields = Object.entries(spec.uniforms ?? {});
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const data = new ArrayBuffer(bytes);
  const view = new DataView(data);
  fields.forEach(([name, type], i) => {
    const v = values[name];
    if (typeof v !== 'number') throw new Error(`${spec.name}: no value for uniform '${name}'`);
    if (type === 'u32') view.setUint32(i * 4, v >>> 0, true);
    else if (type === 'i32') view.setInt32(i * 4, v | 0, true);
    else view.setFloat32(i * 4, v, true);
  });
  let cache = uniformCaches.get(b);
  if (!cache) uniformCaches.set(b, (cache = new Map()));
  if (cache.size >= MAX_CACHED) {
    b.uniformPendingDisposal.push(...cache.values());
    cache.clear();
  }
  const key = new Uint32Array(data).join(',');
  let buf = cache.get(key);
  if (!buf) {
    buf = b.bufferManager.acquireBuffer(bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    b.queue.writeBuffer(buf, 0, data);
    cache.set(key, buf);
  }
  return buf;
}

/** Records one dispatch of one of our kernels into tfjs's command stream. */
export function dispatch<B extends string, U extends string>(d: DispatchSpec<B, U>): void {
  const [x, y = 1, z = 1] = d.workgroups;
  if (x === 0 || y === 0 || z === 0) return;
  const b = internals();
  const maxPerDim = b.device.limits.maxComputeWorkgroupsPerDimension;
  if (x > maxPerDim || y > maxPerDim || z > maxPerDim) {
    throw new Error(`${d.kernel.name}: dispatch ${x}×${y}×${z} exceeds ${maxPerDim} workgroups per dimension`);
  }
  const spec = d.kernel as KernelSpec;
  const pipeline = getPipeline(b.device, spec);
  const buffers = Object.keys(spec.buffers).map((name) => {
    const t = (d.buffers as Record<string, TensorInfo>)[name];
    if (!t) throw new Error(`${spec.name}: no tensor for buffer '${name}'`);
    return t;
  });
  const entries: GPUBindGroupEntry[] = buffers.map((t, i) => ({ binding: i, resource: { buffer: bufferOf(t) } }));
  if (spec.uniforms) {
    const buffer = uniformBuffer(b, spec, d.uniforms as Record<string, number>);
    entries.push({ binding: entries.length, resource: { buffer } });
  }
  const bindGroup = b.device.createBindGroup({ label: spec.name, layout: pipeline.getBindGroupLayout(0), entries });
  for (const t of buffers) b.commandQueueOwnedIds.add(t.dataId);

  b.ensureCommandEncoderReady();
  const profiling = b.activeTimers != null;
  const timing = profiling && b.device.features.has('timestamp-query');
  if (timing) {
    // Inside tf.profile(): one pass per dispatch, timed the way tfjs times its own programs.
    b.endComputePassEncoder();
    const self = b as unknown as { querySet: GPUQuerySet | null; querySetCount: number };
    self.querySet ??= b.device.createQuerySet({ type: 'timestamp', count: self.querySetCount });
    b.computePassEncoder = b.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: self.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  } else if (!b.computePassEncoder) {
    b.computePassEncoder = b.commandEncoder!.beginComputePass();
  }
  const pass = b.computePassEncoder!;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(x, y, z);
  b.dispatchCountInPass++;
  if (timing) {
    b.endComputePassEncoder();
    b.activeTimers!.push({ name: d.kernel.name, query: b.getQueryTime!() });
  } else if (profiling) {
    // No timestamps on this adapter: the profile still lists the dispatch, as tfjs lists its own, at 0 ms.
    b.activeTimers!.push({ name: d.kernel.name, query: Promise.resolve(0) });
  }
  if (!timing && b.dispatchCountInPass >= SUBMIT_BATCH) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
}

/**
 * Records a copy of `count` elements from src (from element srcOffset) into dst (from element dstOffset), in
 * order with the dispatches around it. A copy needs no pipeline or bind group: packing many small tensors into
 * one buffer this way lets one dispatch then work on all of them.
 */
export function copyElements(
  src: TensorInfo,
  srcOffset: number,
  dst: TensorInfo,
  dstOffset: number,
  count: number,
): void {
  if (count === 0) return;
  const b = internals();
  const from = bufferOf(src);
  const to = bufferOf(dst);
  if ((srcOffset + count) * 4 > from.size || (dstOffset + count) * 4 > to.size) {
    throw new Error(`copyElements: ${count} elements at ${srcOffset} → ${dstOffset} overrun a buffer`);
  }
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.commandEncoder!.copyBufferToBuffer(from, srcOffset * 4, to, dstOffset * 4, count * 4);
  b.commandQueueOwnedIds.add(src.dataId);
  b.commandQueueOwnedIds.add(dst.dataId);
}

/** true when the device was created with the `subgroups` feature, so kernels may use subgroup operations. */
export function hasSubgroups(): boolean {
  return internals().device.features.has('subgroups');
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** Splits a 1-D workgroup count into x×y so neither exceeds the per-dimension limit. */
export function grid1d(count: number, maxPerDim = 65535): [number, number] {
  if (count <= maxPerDim) return [count, 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}

/** true when tfjs runs on a CPU emulation of a GPU (SwiftShader and the like). */
function isSoftwareAdapter(): boolean {
  const info = (webgpuBackend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  return /swiftshader|llvmpipe|lavapipe|warp/i.test(`${info?.vendor ?? ''} ${info?.architecture ?? ''}`);
}

/**
 * How a kernel combines values across threads: each thread alone ('perThread', no barriers), in workgroup memory
 * ('workgroup'), or by subgroup operations ('subgroup', where the device has the `subgroups` feature).
 */
export type Reduction = 'perThread' | 'workgroup' | 'subgroup';

/**
 * The variant of a kernel family that reduces the way this device does best. On a CPU emulation a workgroup barrier
 * costs far more than the arithmetic around it (a 256-thread row reduction ran ~60× slower than one thread per
 * row), so there no barriers; on a GPU subgroup operations where it has them, else workgroup memory.
 */
export function preferredVariant<K extends string>(variants: Record<K, { reduction: Reduction }>): K {
  const want: Reduction = isSoftwareAdapter() ? 'perThread' : hasSubgroups() ? 'subgroup' : 'workgroup';
  const name = (Object.keys(variants) as K[]).find((k) => variants[k].reduction === want);
  if (!name) throw new Error(`no kernel variant reduces by '${want}'`);
  return name;
}
