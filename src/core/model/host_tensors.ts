// Parameters on the CPU: by name, row-major float32. What a model is made from and copied back to, and what every
// checkpoint format reads and writes.

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export type NamedTensors = Map<string, HostTensor>;
