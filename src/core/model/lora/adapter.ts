// A LoRA adapter on a model, as PEFT's LoraModel holds one: per targeted linear layer, lora_A [r, in] (Kaiming-uniform
// with a = √5, as nn.Linear initialises) and lora_B [out, r] (zeros, so the adapted model starts as the base), under
// the layer's module name: '<module>.lora_A.weight', '<module>.lora_B.weight'. Merging folds s·B·A into the weights.
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensors } from '../host_tensors.ts';
import type { LinearLayer, LoraWeights } from '../linear.ts';
import { Random } from '../../util/random.ts';
import { loraScale, type LoraConfig } from './config.ts';

export const loraAName = (module: string) => `${module}.lora_A.weight`;
export const loraBName = (module: string) => `${module}.lora_B.weight`;

/** The adapter's tensors by name and shape, in the targets' order (A, then B, per layer). */
export function loraShapes(targets: LinearLayer[], r: number): [string, number[]][] {
  return targets.flatMap((l): [string, number[]][] => [
    [loraAName(l.module), [r, l.inFeatures]],
    [loraBName(l.module), [l.outFeatures, r]],
  ]);
}

/**
 * A new adapter's values, as PEFT's reset_lora_parameters (init_lora_weights=True): A from kaiming_uniform_(a=√5),
 * that is U(−1/√in, 1/√in), B zeros.
 */
export function initialLoraValues(targets: LinearLayer[], r: number, seed: number): NamedTensors {
  const rng = new Random(seed);
  const out: NamedTensors = new Map();
  for (const [name, shape] of loraShapes(targets, r)) {
    const data = new Float32Array(shape[0] * shape[1]);
    if (name.endsWith('lora_A.weight')) {
      const bound = 1 / Math.sqrt(shape[1]);
      for (let i = 0; i < data.length; i++) data[i] = (2 * rng.next() - 1) * bound;
    }
    out.set(name, { shape, data });
  }
  return out;
}

/** Refuses arrays that are not this adapter's tensors with these shapes, naming the first that is not. */
export function checkLoraArrays(arrays: NamedTensors, shapes: [string, number[]][], what: string): void {
  for (const [name, shape] of shapes) {
    const a = arrays.get(name);
    if (!a) throw new Error(`${what}: missing tensor '${name}'`);
    if (a.shape.join(',') !== shape.join(','))
      throw new Error(`${what}: tensor '${name}' has shape [${a.shape}], this model needs [${shape}]`);
  }
}

export class LoraAdapter {
  readonly config: LoraConfig;
  readonly targets: LinearLayer[];
  readonly scale: number;
  /** lora_A and lora_B of every target, by name */
  readonly params: Map<string, tf.Variable>;
  private readonly byModule: Map<string, LoraWeights>;

  /** An adapter from its values (initialLoraValues, or an import), each checked against its target's shape. */
  constructor(config: LoraConfig, targets: LinearLayer[], values: NamedTensors) {
    const shapes = loraShapes(targets, config.r);
    checkLoraArrays(values, shapes, 'LoRA adapter');
    this.config = config;
    this.targets = targets;
    this.scale = loraScale(config);
    this.params = new Map(
      shapes.map(([name, shape]) => {
        const t = tf.tensor(values.get(name)!.data, shape);
        const v = tf.variable(t, true);
        t.dispose();
        return [name, v];
      }),
    );
    this.byModule = new Map(
      targets.map((l, index) => [
        l.module,
        {
          A: this.params.get(loraAName(l.module)) as tf.Tensor2D,
          B: this.params.get(loraBName(l.module)) as tf.Tensor2D,
          scale: this.scale,
          dropout: this.config.lora_dropout,
          index,
        },
      ]),
    );
  }

  /** The adapter's weights on `module`, if it targets it. */
  weights(module: string): LoraWeights | undefined {
    return this.byModule.get(module);
  }

  /** The adapter tensors of block `layer` (−1: outside the blocks). */
  layerParameters(layer: number): string[] {
    return this.targets.filter((l) => l.layer === layer).flatMap((l) => [loraAName(l.module), loraBName(l.module)]);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

/**
 * The base weights with each target's adapter folded in, W + s·B·A (for a fan_in_fan_out weight [in, out],
 * W + s·(B·A)ᵀ), summed in float64 and rounded once; every other tensor is passed through.
 */
export function mergeLora(
  base: NamedTensors,
  adapter: NamedTensors,
  targets: LinearLayer[],
  config: LoraConfig,
): NamedTensors {
  const s = loraScale(config);
  const r = config.r;
  checkLoraArrays(adapter, loraShapes(targets, r), 'LoRA adapter');
  const out: NamedTensors = new Map(base);
  for (const l of targets) {
    const name = `${l.module}.weight`;
    const w = base.get(name);
    const [I, O] = [l.inFeatures, l.outFeatures];
    const shape = l.fanInFanOut ? [I, O] : [O, I];
    if (!w || w.shape.join(',') !== shape.join(','))
      throw new Error(
        `cannot merge the adapter: the base's '${name}' is ${w ? `[${w.shape}]` : 'missing'}, expected [${shape}]`,
      );
    const A = adapter.get(loraAName(l.module))!.data; // [r, I]
    const B = adapter.get(loraBName(l.module))!.data; // [O, r]
    const merged = new Float32Array(w.data.length);
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < I; i++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += B[o * r + k] * A[k * I + i];
        const at = l.fanInFanOut ? i * O + o : o * I + i;
        merged[at] = w.data[at] + s * d;
      }
    }
    out.set(name, { shape, data: merged });
  }
  return out;
}
