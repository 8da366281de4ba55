// One place that finds a WebGPU device, in a browser tab, a worker, or Node (through Dawn).
//
// In Node without a GPU, Dawn finds no Vulkan driver; we then point it at SwiftShader's Vulkan ICD
// (shipped with Debian's chromium) and ask again. Whatever we get, we ask for the adapter's own limits
// (not WebGPU's small defaults), since a GPT's buffers and bindings outgrow the defaults quickly.

export interface GpuFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

export interface GpuInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** true when the adapter is a CPU emulation (SwiftShader), so figures are not GPU figures */
  software: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: GpuInfo;
  features: GpuFeatures;
  limits: Record<string, number>;
  /** validation and out-of-memory errors seen since the last `takeErrors()` */
  takeErrors(): string[];
  /** throws the first WebGPU error seen since the last call, if any */
  throwIfErrors(): void;
  /** resolves with the reason if the device is lost */
  lost: Promise<GPUDeviceLostInfo>;
}

export class NoWebGPUError extends Error {
  constructor(detail: string) {
    super(
      `WebGPU is not available: ${detail}. Hearth needs a browser with WebGPU (Chrome or Edge 113+, ` +
        `Safari 26+, or Firefox 141+ on Windows; elsewhere enable it with chrome://flags/#enable-unsafe-webgpu).`,
    );
    this.name = 'NoWebGPUError';
  }
}

/** Limits a large model needs: ask for the adapter's maximum of each. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxBindGroups',
  'maxUniformBufferBindingSize',
] as const;

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export const isNode = (): boolean =>
  typeof process !== 'undefined' &&
  !!(process as { versions?: { node?: string } }).versions?.node &&
  typeof (globalThis as { window?: unknown }).window === 'undefined';

async function nodeAdapter(powerPreference: GPUPowerPreference): Promise<{ gpu: GPU; adapter: GPUAdapter | null }> {
  // A variable module name keeps bundlers from pulling Dawn into the browser build.
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as {
    create(options: string[]): GPU;
    globals: Record<string, unknown>;
  };
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  let gpu = dawn.create([]);
  let adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter && !process.env.VK_ICD_FILENAMES) {
    const fs = await import('node:fs');
    if (fs.existsSync(SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      gpu = dawn.create([]);
      adapter = await gpu.requestAdapter({ powerPreference });
    }
  }
  return { gpu, adapter };
}

let cached: Promise<GpuContext> | null = null;

/** The process's GPU context (one device, shared by tfjs and our kernels). */
export function getGpu(): Promise<GpuContext> {
  cached ??= createGpu().catch((e) => {
    cached = null;
    throw e;
  });
  return cached;
}

/** Destroys the process's device if one was made (Node must do this before exiting: see WEBGPU_ON_CPU.md). */
export async function closeGpu(): Promise<void> {
  const pending = cached;
  cached = null;
  if (!pending) return;
  try {
    (await pending).device.destroy();
  } catch {
    // no device was made: nothing to close
  }
}

export async function createGpu(powerPreference: GPUPowerPreference = 'high-performance'): Promise<GpuContext> {
  let gpu: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  let adapter: GPUAdapter | null = null;
  if (gpu) {
    adapter = await gpu.requestAdapter({ powerPreference });
  } else if (isNode()) {
    const found = await nodeAdapter(powerPreference);
    gpu = found.gpu;
    adapter = found.adapter;
    // tfjs-backend-webgpu looks for navigator.gpu; Node 20 has no navigator.
    const g = globalThis as { navigator?: { gpu?: GPU; userAgent?: string } };
    if (!g.navigator) g.navigator = { gpu, userAgent: 'node' };
    else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } else {
    throw new NoWebGPUError('this browser has no navigator.gpu');
  }
  if (!adapter) {
    throw new NoWebGPUError(
      isNode()
        ? `no adapter found (no Vulkan driver, and no SwiftShader at ${SWIFTSHADER_ICD}; install Debian's chromium and libvulkan1)`
        : 'the browser found no GPU adapter',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const optional: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'] as GPUFeatureName[];
  const requiredFeatures = optional.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });

  const errors: string[] = [];
  device.addEventListener('uncapturederror', (ev) => {
    const msg = (ev as GPUUncapturedErrorEvent).error.message;
    errors.push(msg);
    console.error(`[hearth] WebGPU error: ${msg}`);
  });

  const ai = adapter.info ?? ({} as GPUAdapterInfo);
  const info: GpuInfo = {
    vendor: ai.vendor ?? '',
    architecture: ai.architecture ?? '',
    device: ai.device ?? '',
    description: ai.description ?? '',
    software: /swiftshader|llvmpipe|lavapipe|warp|basic render/i.test(
      `${ai.vendor} ${ai.architecture} ${ai.description}`,
    ),
  };
  const features: GpuFeatures = {
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    timestampQuery: device.features.has('timestamp-query'),
  };
  const limits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (device.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') limits[name] = v;
  }
  return {
    device,
    adapter,
    info,
    features,
    limits,
    lost: device.lost,
    takeErrors: () => errors.splice(0),
    throwIfErrors() {
      if (errors.length) throw new Error(`WebGPU error: ${errors.splice(0).join('; ')}`);
    },
  };
}

/** A one-line description of the device for logs and benchmark headers. */
export function describeGpu(ctx: GpuContext): string {
  const { info, features } = ctx;
  const name = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' / ');
  const feats = Object.entries(features)
    .filter(([, on]) => on)
    .map(([k]) => k)
    .join(', ');
  return `${name}${info.software ? ' (software, CPU)' : ''}; features: ${feats || 'none'}`;
}
