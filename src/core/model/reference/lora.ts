// A LoRA-adapted model in plain float64, without lora_dropout: the family's reference model run on the effective
// weights W + s·B·A (Wᵀ-layout weights: W + s·(B·A)ᵀ), and the adapters' gradients from the effective weights' by the
// chain rule, G = ∂loss/∂W_eff (as [out, in]): ∂A = s·Bᵀ·G, ∂B = s·G·Aᵀ. Independent of how the GPU model computes
// the adapted layers (x·W + s·(x·Aᵀ)·Bᵀ, never forming B·A).
import { isLlamaModelType, type LlamaDims } from '../families/llama_config.ts';
import type { ModelDims } from '../families/index.ts';
import type { GPT2Dims } from '../families/gpt2_config.ts';
import type { LinearLayer } from '../linear.ts';
import { referenceLossAndGrads, type RefParams, type RefResult } from './gpt2.ts';
import { referenceLlamaLossAndGrads } from './llama.ts';
import { referenceNeoXLossAndGrads } from './gpt_neox.ts';
import { referenceGptNeoLossAndGrads } from './gpt_neo.ts';
import type { NeoXDims } from '../families/gpt_neox_config.ts';
import type { GptNeoDims } from '../families/gpt_neo_config.ts';

/** The loss, the logits and the gradient of every adapter tensor ('<module>.lora_A.weight', '….lora_B.weight'). */
export function referenceLoraLossAndGrads(
  d: ModelDims,
  base: RefParams,
  adapter: RefParams,
  targets: LinearLayer[],
  scale: number,
  r: number,
  tokens: Int32Array,
  labels: Int32Array,
  B: number,
  T: number,
): RefResult {
  const effective: RefParams = new Map(base);
  /** index of (out o, in i) in a layer's weight */
  const at = (l: LinearLayer, o: number, i: number) => (l.fanInFanOut ? i * l.outFeatures + o : o * l.inFeatures + i);
  for (const l of targets) {
    const w = base.get(`${l.module}.weight`)!.slice();
    const a = adapter.get(`${l.module}.lora_A.weight`)!; // [r, in]
    const b = adapter.get(`${l.module}.lora_B.weight`)!; // [out, r]
    for (let o = 0; o < l.outFeatures; o++)
      for (let i = 0; i < l.inFeatures; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += b[o * r + k] * a[k * l.inFeatures + i];
        w[at(l, o, i)] += scale * s;
      }
    effective.set(`${l.module}.weight`, w);
  }
  const run = isLlamaModelType(d.model_type)
    ? referenceLlamaLossAndGrads(d as LlamaDims, effective, tokens, labels, B, T)
    : d.model_type === 'gpt_neox'
      ? referenceNeoXLossAndGrads(d as NeoXDims, effective, tokens, labels, B, T)
      : d.model_type === 'gpt_neo'
        ? referenceGptNeoLossAndGrads(d as GptNeoDims, effective, tokens, labels, B, T)
        : referenceLossAndGrads(d as GPT2Dims, effective, tokens, labels, B, T);
  const grads: RefParams = new Map();
  for (const l of targets) {
    const G = run.grads.get(`${l.module}.weight`)!;
    const a = adapter.get(`${l.module}.lora_A.weight`)!;
    const b = adapter.get(`${l.module}.lora_B.weight`)!;
    const [I, O] = [l.inFeatures, l.outFeatures];
    const dA = new Float64Array(r * I);
    const dB = new Float64Array(O * r);
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++) {
        const g = G[at(l, o, i)] * scale;
        for (let k = 0; k < r; k++) {
          dA[k * I + i] += b[o * r + k] * g;
          dB[o * r + k] += g * a[k * I + i];
        }
      }
    grads.set(`${l.module}.lora_A.weight`, dA);
    grads.set(`${l.module}.lora_B.weight`, dB);
  }
  return { loss: run.loss, logits: run.logits, grads };
}
