// Rotary position embedding's inverse frequencies, as Hugging Face's rope initialisation functions compute them
// (modeling_rope_utils.py): the default θ^(−2i/d), linear scaling, and Llama 3's frequency-dependent scaling.
// Computed once on the CPU per model; the ops take the result (RopeSpec.invFreq).

/** config.json's rope_scaling, under either of its keys for the type. */
export interface RopeScaling {
  rope_type?: string;
  type?: string;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
  [key: string]: unknown;
}

/** The rope types Hearth computes; the others (dynamic, yarn, longrope, …) are refused by the config's check. */
export const ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

export const ropeType = (s: RopeScaling | null | undefined): string => s?.rope_type ?? s?.type ?? 'default';

/** inv_freq (rotaryDim / 2) for rotary dims of base θ, scaled as rope_scaling says. */
export function ropeInvFreq(rotaryDim: number, theta: number, scaling?: RopeScaling | null): Float32Array {
  const half = rotaryDim / 2;
  // HF: 1 / θ^(arange(0, d, 2) / d), in float32
  let inv: Float64Array = Float64Array.from(
    { length: half },
    (_, i) => 1 / Math.pow(theta, Math.fround((2 * i) / rotaryDim)),
  );
  const type = ropeType(scaling);
  if (type === 'linear') inv = inv.map((f) => f / scaling!.factor!);
  else if (type === 'llama3') inv = llama3Scaled(inv, scaling!);
  else if (type !== 'default') throw new Error(`rope_scaling type "${type}" is not supported`);
  return Float32Array.from(inv);
}

/**
 * Llama 3's scaling (HF's _compute_llama3_parameters): wavelengths longer than the original context / low_freq_factor
 * are divided by `factor`, shorter than original / high_freq_factor kept, and those between blended smoothly.
 */
function llama3Scaled(inv: Float64Array, s: RopeScaling): Float64Array {
  const factor = s.factor!;
  const low = s.low_freq_factor!;
  const high = s.high_freq_factor!;
  const old = s.original_max_position_embeddings!;
  const lowWavelen = old / low;
  const highWavelen = old / high;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const scaled = wavelen > lowWavelen ? f / factor : f;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = (old / wavelen - low) / (high - low);
    return ((1 - smooth) * scaled) / factor + smooth * scaled;
  });
}
