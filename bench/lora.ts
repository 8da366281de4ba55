// LoRA bench: a LoRA training step (forward, the backward over the adapter alone, AdamW on the adapter) against a full
// training step of the same model on the same device in one run, contenders alternating step by step; tokens/s of
// each and the ratio. Each adapter runs three ways: the fused op (kernels/lora: the adapter in the base product's
// epilogue), the same with the frozen base held in f16 (halfBase, as the CLI and the page train), and unfused (the
// adapter as separate matmuls and an add, as before the fused op). GPT-NeoX, whose fused query_key_value is PEFT's
// default target, and a Llama-family model (q_proj, v_proj by default): the tiny presets with a character
// vocabulary everywhere, SwiftShader included; on a real GPU also Pythia-70M's and SmolLM2-135M's shapes at batch 4
// × block 128.
import { initTf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { familyOf, parameterCount } from '../src/core/model/families/index.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { kernelOps } from '../src/core/model/kernel_ops.ts';
import type { Ops } from '../src/core/model/ops.ts';
import { DEFAULT_LORA_CONFIG, loraMemoryTerms, type LoraConfig } from '../src/core/model/lora/config.ts';
import { stepTimes, type BenchCase, type Contender } from './train.ts';
import type { Report } from './report.ts';

const lora = (target_modules: LoraConfig['target_modules']): LoraConfig => ({
  ...DEFAULT_LORA_CONFIG,
  r: 8,
  lora_alpha: 16,
  target_modules,
});

/** Hearth's kernels without the fused linear op: an adapter runs as its own matmuls and an add. */
const unfusedLoraOps: Ops = { ...kernelOps, name: 'hearth kernels, LoRA unfused', linear: undefined };

/** Full fine-tuning, then each target set fused, fused with an f16 base, and unfused. */
function contenders(targets: [string, LoraConfig['target_modules']][]): Contender[] {
  return [
    { label: 'full', ops: kernelOps, multiTensor: true },
    ...targets.flatMap(([name, t]): Contender[] => [
      { label: `LoRA r 8, ${name}, fused`, ops: kernelOps, multiTensor: true, lora: lora(t) },
      { label: `LoRA r 8, ${name}, fused, f16 base`, ops: kernelOps, multiTensor: true, lora: lora(t), halfBase: true },
      { label: `LoRA r 8, ${name}, unfused`, ops: unfusedLoraOps, multiTensor: true, lora: lora(t) },
    ]),
  ];
}

export async function benchLora(report: Report): Promise<void> {
  const ctx = await initTf();
  report(`LoRA vs full training step on ${describeGpu(ctx)}; best of the timed steps, contenders alternating`);
  const neox = contenders([
    ['query_key_value', null],
    ['all-linear', 'all-linear'],
  ]);
  const llama = contenders([
    ['q_proj v_proj', null],
    ['all-linear', 'all-linear'],
  ]);
  const cases: (BenchCase & { contenders: Contender[] })[] = [
    {
      label: 'GPT-NeoX tiny: 2 layers × 128 wide, block 64, batch 8, vocab 96 (char)',
      dims: presetDims('neox-tiny', 96),
      B: 8,
      T: 64,
      contenders: neox,
    },
    {
      label: 'Llama tiny: 2 layers × 128 wide, GQA 4/2 heads, block 64, batch 8, vocab 96 (char)',
      dims: presetDims('llama-tiny', 96),
      B: 8,
      T: 64,
      contenders: llama,
    },
  ];
  if (!ctx.info.software)
    cases.push(
      {
        label: 'Pythia-70M shape, batch 4 × block 128',
        dims: presetDims('pythia-70m', 50304),
        B: 4,
        T: 128,
        contenders: neox,
      },
      {
        label: 'SmolLM2-135M shape, batch 4 × block 128',
        dims: presetDims('smollm2-135m', 49152),
        B: 4,
        T: 128,
        contenders: llama,
      },
    );
  for (const c of cases) {
    const steps = ctx.info.software ? 3 : 20;
    const warmup = ctx.info.software ? 1 : 3;
    const times = await stepTimes(c, c.contenders, warmup, steps);
    const tokens = c.B * c.T;
    report(`  ${c.label} (${(parameterCount(c.dims) / 1e6).toFixed(2)} M params)`);
    const fullRate = tokens / (times[0].ms / 1000);
    c.contenders.forEach((k, i) => {
      const t = times[i];
      const rate = tokens / (t.ms / 1000);
      const trained = k.lora ? loraMemoryTerms(familyOf(c.dims), c.dims, k.lora).parameters : parameterCount(c.dims);
      // the unfused contender follows its fused and f16-base ones: the fused step's speed-up over it
      const unfused = k.label.endsWith(', unfused') ? tokens / (times[i - 2].ms / 1000) / rate : null;
      report(
        `    ${k.label.padEnd(40)} ${t.ms.toFixed(1).padStart(8)} ms/step, ${rate.toFixed(0)} tokens/s, ` +
          `${(trained / 1e6).toFixed(3)} M trained, ×${(rate / fullRate).toFixed(2)} the full step's tokens/s` +
          (unfused ? `; fused is ×${unfused.toFixed(2)} this` : ''),
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
          fused_over_unfused: unfused,
        },
      );
    });
  }
}
