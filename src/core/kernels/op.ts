// Our kernels as real tfjs operations: registered for the 'webgpu' backend under their own names,
// each with its gradient, so tfjs autograd (tf.grad, tf.variableGrads, optimizers) drives them.
import {
  registerKernel,
  registerGradient,
  engine,
  type NamedAttrMap,
  type Tensor,
  type TensorInfo,
  type NamedTensorMap,
} from '@tensorflow/tfjs-core';

export interface OpDefinition {
  name: string;
  /** input names, in the order callers pass them */
  inputs: string[];
  forward(inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo | TensorInfo[];
  gradient?: {
    inputsToSave?: string[];
    outputsToSave?: boolean[];
    /** dy: upstream gradient(s); saved: the saved inputs then the saved outputs, in order */
    grad(dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap): Record<string, () => Tensor>;
  };
}

const registered = new Set<string>();

export function registerOp(def: OpDefinition): void {
  if (registered.has(def.name)) return;
  registered.add(def.name);
  registerKernel({
    kernelName: def.name,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs }) => def.forward(inputs as Record<string, TensorInfo>, attrs as NamedAttrMap),
  });
  if (def.gradient) {
    const g = def.gradient;
    registerGradient({
      kernelName: def.name,
      inputsToSave: g.inputsToSave,
      outputsToSave: g.outputsToSave,
      gradFunc: (dy, saved, attrs) => g.grad(dy, saved, attrs),
    });
  }
}

/** Runs a registered op: inputs by name, as tensors. */
export function runOp<T extends Tensor | Tensor[] = Tensor>(
  name: string,
  inputs: NamedTensorMap,
  attrs: NamedAttrMap = {},
): T {
  return engine().runKernel(name, inputs as unknown as NamedTensorMap, attrs) as unknown as T;
}
