// What the page knows about the GPU: checking, ready (with the adapter's name and features), absent, or lost.
import { describeGpu, getGpu, NoWebGPUError, type GpuContext } from '../../core/gpu/device.ts';

export type GpuStatus =
  | { kind: 'checking' }
  | {
      kind: 'ready';
      /** the adapter as people know it: its description, or vendor and architecture */
      name: string;
      /** describeGpu's one line, for a tooltip and bug reports */
      summary: string;
      software: boolean;
      features: string[];
      limits: Record<string, number>;
    }
  | { kind: 'unavailable'; detail: string }
  | { kind: 'lost'; detail: string }
  | { kind: 'failed'; detail: string };

const FEATURE_NAMES: Record<keyof GpuContext['features'], string> = {
  shaderF16: 'shader-f16',
  subgroups: 'subgroups',
  timestampQuery: 'timestamp-query',
};

export class GpuState {
  status = $state<GpuStatus>({ kind: 'checking' });

  async check(): Promise<void> {
    this.status = { kind: 'checking' };
    let ctx: GpuContext;
    try {
      ctx = await getGpu();
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      this.status = e instanceof NoWebGPUError ? { kind: 'unavailable', detail } : { kind: 'failed', detail };
      return;
    }
    const { info, features } = ctx;
    this.status = {
      kind: 'ready',
      name: info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || info.device || 'unnamed adapter',
      summary: describeGpu(ctx),
      software: info.software,
      features: (Object.keys(FEATURE_NAMES) as (keyof typeof FEATURE_NAMES)[])
        .filter((k) => features[k])
        .map((k) => FEATURE_NAMES[k]),
      limits: ctx.limits,
    };
    void ctx.lost.then((lost) => {
      this.status = { kind: 'lost', detail: lost.message || String(lost.reason) };
    });
  }
}
