// The bench's f32 peak lookup and model-FLOP count, which turn its real-GPU timings into shares of the card's peak.
import { describe, it, expect } from 'vitest';
import { peakOf, shareOfPeak, trainingFlopsPerToken } from '../../bench/peak.ts';
import { presetDims } from '../../src/core/model/presets.ts';
import type { GpuInfo } from '../../src/core/gpu/device.ts';

const card = (description: string, software = false): GpuInfo => ({
  vendor: 'nvidia',
  architecture: '',
  device: '',
  description,
  software,
});

describe('bench peak', () => {
  it('knows data-centre cards by their adapter description, the PCIe H100 apart from the SXM one', () => {
    expect(peakOf(card('NVIDIA H100 80GB HBM3'), [], {})?.tflops).toBe(67);
    expect(peakOf(card('NVIDIA H100 PCIe'), [], {})?.tflops).toBe(51);
    expect(peakOf(card('NVIDIA H200'), [], {})?.tflops).toBe(67);
    expect(peakOf(card('NVIDIA A100-SXM4-40GB'), [], {})?.tflops).toBe(19.5);
  });

  it('gives no peak for unknown cards or CPU emulation, unless one is passed; a bad one is an error', () => {
    expect(peakOf(card('Some Integrated GPU'), [], {})).toBeNull();
    expect(peakOf(card('SwiftShader Device (Subzero)', true), [], {})).toBeNull();
    expect(peakOf(card('Some Integrated GPU'), ['--peak-tflops=4.5'], {})).toEqual({ tflops: 4.5, source: 'given' });
    expect(peakOf(card('NVIDIA H100 80GB HBM3'), [], { HEARTH_PEAK_TFLOPS: '60' })?.tflops).toBe(60);
    expect(() => peakOf(card('x'), ['--peak-tflops=fast'], {})).toThrow(/peak-tflops.*fast/);
    expect(shareOfPeak(16_750, { tflops: 67, source: '' })).toBe('25.0 % of peak');
  });

  it("counts GPT-2 124M's training FLOPs per token as nanoGPT does (6N + 12·L·C·T, N without wpe)", () => {
    // 6 · (124,439,808 − 1024·768) + 12 · 12 · 768 · 1024
    expect(trainingFlopsPerToken(presetDims('gpt2', 50257), 1024)).toBe(855_166_464);
  });

  it("counts Pythia-70M's without its untied token embedding (a lookup)", () => {
    // 6 · (70,426,624 − 50304·512) + 12 · 6 · 512 · 2048
    expect(trainingFlopsPerToken(presetDims('pythia-70m', 50304), 2048)).toBe(343_523_328);
  });
});
