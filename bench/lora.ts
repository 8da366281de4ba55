// LoRA bench: a LoRA training step (forward, the backward over the adapter alone, AdamW on the adapter) against a full
// training step of the same model on the same device in one run, contenders alternating step by step; tokens/s of
// each and the ratio. GPT-NeoX, whose fused query_key_value is PEFT's default target: the tiny preset with a
// character vocabulary everywhere, SwiftShader included; on a real GPU also Pythia-70M's shape at batch 4 × block 128.
import { initTf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { familyOf, parameterCount } from '../src/core/model/families/index.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { kernelOps } from '../src/core/model/kernel_ops.ts';
import { DEFAULT_LORA_CONFIG, loraMemoryTerms, type LoraConfig } from '../src/core/model/lora/config.ts';
import { stepTimes, type BenchCase, type Contender } from './train.ts';
import type { Report } from './report.ts';

const lora = (target_modules: LoraConfig['target_modules']): LoraConfig => ({
  ...DEFAULT_LORA_CONFIG,
  r: 8,
  lora_alpha: 16,
  target_modules,
});

const CONTENDERS: Contender[] = [
  { label: 'full', ops: kernelOps, multiTensor: true },
  { label: 'LoRA r 8, query_key_value', ops: kernelOps, multiTensor: true, lora: lora(null) },
  { label: 'LoRA r 8, all-linear', ops: kernelOps, multiTensor: true, lora: lora('all-linear') },
];

export async function benchLora(report: Report): Promise<void> {
  const ctx = await initTf();
  report(`LoRA vs full training step on ${describeGpu(ctx)}; best of the timed steps, contenders alternating`);
  const cases: BenchCase[] = [
    {
      label: 'GPT-NeoX tiny: 2 layers × 128 wide, block 64, batch 8, vocab 96 (char)',
      dims: presetDims('neox-tiny', 96),
      B: 8,
      T: 64,
    },
  ];
  if (!ctx.info.software)
    cases.push({ label: 'Pythia-70M shape, batch 4 × block 128', dims: presetDims('pythia-70m', 50304), B: 4, T: 128 });
  for (const c of cases) {
    const steps = ctx.info.software ? 3 : 20;
    const warmup = ctx.info.software ? 1 : 3;
    const times = await stepTimes(c, CONTENDERS, warmup, steps);
    const tokens = c.B * c.T;
    report(`  ${c.label} (${(parameterCount(c.dims) / 1e6).toFixed(2)} M params)`);
    const fullRate = tokens / (times[0].ms / 1000);
    CONTENDERS.forEach((k, i) => {
      const t = times[i];
      const rate = tokens / (t.ms / 1000);
      const trained = k.lora ? loraMemoryTerms(familyOf(c.dims), c.dims, k.lora).parameters : parameterCount(c.dims);
      report(
        `    ${k.label.padEnd(26)} ${t.ms.toFixed(1).padStart(8)} ms/step, ${rate.toFixed(0)} tokens/s, ` +
          `${(trained / 1e6).toFixed(3)} M trained, ×${(rate / fullRate).toFixed(2)} the full step's tokens/s`,
        {
          case: c.label,
          params: parameterCount(c.dims),
          B: c.B,
          T: c.T,
          contender: k.label,
          trained_params: trained,
          ms_per_step: t.ms,
          tokens_per_s: rate,
          ratio_to_full: rate / fullRate,
        },
      );
    });
  }
}
