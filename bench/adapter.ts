// The adapter the other sections run on: what WebGPU says it is, its features and the limits Hearth asked for, and
// the f32 peak the percentages are taken against. First in a device run, so that its figures can be read.
import { initTf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { describePeak, peakOf } from './peak.ts';
import type { Report } from './report.ts';

export async function benchAdapter(report: Report): Promise<void> {
  const ctx = await initTf();
  const { info, features, limits } = ctx;
  const peak = peakOf(info);
  report(`adapter: ${describeGpu(ctx)}`, {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: info.software,
    shader_f16: features.shaderF16,
    subgroups: features.subgroups,
    timestamp_query: features.timestampQuery,
    peak_tflops: peak?.tflops ?? null,
    peak_source: peak?.source ?? null,
  });
  report(`  ${describePeak(peak)}`);
  report(
    `  limits: ${Object.entries(limits)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    { ...limits },
  );
}
