// The card's float32 peak, so the bench can print two real-GPU figures: matmul as a share of the f32 peak, and the
// train step's model-FLOP utilisation (MFU). WebGPU does not report a peak, so it comes from
// `--peak-tflops=N` (or HEARTH_PEAK_TFLOPS=N), else from a short table of vendors' published figures matched
// against the adapter's description. Unknown cards get no percentage rather than a guess.
import type { GpuInfo } from '../src/core/gpu/device.ts';
import { parameterCount, parameterShapes, sizesOf, type ModelDims } from '../src/core/model/families/index.ts';

export interface Peak {
  tflops: number;
  source: string;
}

// Non-tensor-core FP32 TFLOPS from NVIDIA's datasheets (boost clock). WebGPU reaches the CUDA cores only, so the
// tensor-core figures do not apply. More specific names first.
const KNOWN: [RegExp, number, string][] = [
  [/H100.*PCIe/i, 51, 'NVIDIA H100 PCIe datasheet'],
  [/H100.*NVL/i, 60, 'NVIDIA H100 NVL datasheet'],
  [/H100/i, 67, 'NVIDIA H100 SXM datasheet'],
  [/H200/i, 67, 'NVIDIA H200 SXM datasheet'],
  [/A100/i, 19.5, 'NVIDIA A100 datasheet'],
  [/\bL4\b/i, 30.3, 'NVIDIA L4 datasheet'],
  [/\bT4\b/i, 8.1, 'NVIDIA T4 datasheet'],
  [/\bA10\b/i, 31.2, 'NVIDIA A10 datasheet'],
  [/RTX 4090/i, 82.6, 'NVIDIA RTX 4090 specifications'],
  [/RTX 3090/i, 35.6, 'NVIDIA RTX 3090 specifications'],
];

/** From the argument or environment variable if given (an invalid one is an error), else the table, else null. */
export function peakOf(info: GpuInfo, argv = process.argv, env = process.env): Peak | null {
  const arg =
    argv.find((a) => a.startsWith('--peak-tflops='))?.slice('--peak-tflops='.length) ?? env.HEARTH_PEAK_TFLOPS;
  if (arg !== undefined) {
    const tflops = Number(arg);
    if (!(Number.isFinite(tflops) && tflops > 0))
      throw new Error(`--peak-tflops: expected a positive number of TFLOP/s, got '${arg}'`);
    return { tflops, source: 'given' };
  }
  if (info.software) return null;
  const name = `${info.description} ${info.device}`;
  for (const [pattern, tflops, source] of KNOWN) if (pattern.test(name)) return { tflops, source };
  return null;
}

export function describePeak(peak: Peak | null): string {
  return peak
    ? `f32 peak ${peak.tflops} TFLOP/s (${peak.source})`
    : 'f32 peak unknown (pass --peak-tflops=N for percentages)';
}

/** "12.3 % of peak", or '' when the peak is unknown. */
export function shareOfPeak(gflops: number, peak: Peak | null): string {
  return peak ? `${((gflops / (peak.tflops * 1000)) * 100).toFixed(1)} % of peak` : '';
}

/**
 * Training FLOPs per token as PaLM's appendix B and nanoGPT count them: 6 per weight that takes part in a matmul
 * (forward 2, backward 4; a tied embedding counts for the head; wpe, and an untied token embedding, are lookups) plus
 * 12·layers·(heads·head_dim)·T for attention's two T-long products, counted as if not causal (the convention, so
 * MFUs compare).
 */
export function trainingFlopsPerToken(d: ModelDims, T: number): number {
  const shapes = new Map(parameterShapes(d));
  const untied = ['lm_head.weight', 'embed_out.weight'].some((name) => shapes.has(name));
  const lookups = untied ? ['wpe.weight', 'embed_tokens.weight', 'embed_in.weight'] : ['wpe.weight'];
  const lookup = lookups.reduce((n, name) => n + (shapes.get(name)?.reduce((a, b) => a * b, 1) ?? 0), 0);
  const s = sizesOf(d);
  return 6 * (parameterCount(d) - lookup) + 12 * s.num_hidden_layers * s.num_attention_heads * s.head_dim * T;
}
