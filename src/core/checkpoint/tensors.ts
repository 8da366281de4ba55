// Checks and copies on host tensors (model/host_tensors.ts), the plain representation every checkpoint path works
// on: tensors by parameter name, row-major float32.
import type { HostTensor } from '../model/host_tensors.ts';

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The first NaN or infinity in a tensor, as its flat index, or -1. */
export function firstNonFinite(data: Float32Array): number {
  // NaN and ±Infinity are exactly the floats whose exponent bits are all ones.
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Bit-for-bit equality (NaN payloads and -0 included), which is what "identical weights" means. */
export function bitwiseEqual(a: HostTensor, b: HostTensor): boolean {
  if (!sameShape(a.shape, b.shape) || a.data.length !== b.data.length) return false;
  const x = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length);
  const y = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/**
 * A copy in a fresh ArrayBuffer of its own. Not `view.slice()`: on a Node Buffer that returns a
 * view into shared memory, and code that then takes `.buffer` would read the wrong bytes.
 */
export function copyBytes(view: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(view.byteLength);
  out.set(view);
  return out;
}
