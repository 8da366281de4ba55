// GPT-2's input embedding, token + position, as a tfjs op with gradients for wte and wpe.
//   forward:  tokens (B·T, on the CPU), wte (V, C), wpe (n_positions, C), position -> out (B, T, C), where
//             out[b, t] = wte[tokens[b·T + t]] + wpe[position + t] (position > 0 when decoding after a cache)
//   backward: dwte by a gather over a CSR of each id's positions (deterministic, no atomics);
//             dwpe[position + t] = Σ_b dout[b, t]
// And the token-only embedding (families without position embeddings): tfjs's gather forward, with the same
// deterministic wte gradient in place of tfjs's (a scatter-add whose float atomics sum in any order).
// Packed rows (TRL's padding-free packing) give each token its own position: wte[tokens] + wpe[positionIds], the
// token-only embedding of each table, so wpe's gradient is the same deterministic gather over positions by id.
import type { GradSaveFunc, Tensor, Tensor2D, Tensor3D, TensorInfo } from '@tensorflow/tfjs-core';
import { add, customGrad, gather, reshape, tensor1d, tidy, zerosLike } from '@tensorflow/tfjs-core';
import forwardSource from '../../../../shaders/embedding.wgsl?raw';
import wteBackwardSource from '../../../../shaders/embedding_backward_wte.wgsl?raw';
import wpeBackwardSource from '../../../../shaders/embedding_backward_wpe.wgsl?raw';
import { allocate, dispatch, grid1d, ceilDiv, defineKernel } from '../runtime.ts';
import { registerOp, runOp } from '../op.ts';

const WG = 256;

const FORWARD = defineKernel({
  name: 'embedding',
  source: forwardSource,
  buffers: { tokens: 'read', wte: 'read', wpe: 'read', out: 'read_write' },
  uniforms: { count: 'u32', seq_len: 'u32', channels: 'u32', position: 'u32' },
});
const WTE_BACKWARD = defineKernel({
  name: 'embedding_backward_wte',
  source: wteBackwardSource,
  buffers: { dout: 'read', offsets: 'read', positions: 'read', dwte: 'read_write' },
  uniforms: { count: 'u32', channels: 'u32' },
});
const WPE_BACKWARD = defineKernel({
  name: 'embedding_backward_wpe',
  source: wpeBackwardSource,
  buffers: { dout: 'read', dwpe: 'read_write' },
  uniforms: { count: 'u32', batch: 'u32', seq_len: 'u32', channels: 'u32', position: 'u32' },
});

export interface TokenPositions {
  /** (V + 1): positions of id v are positions[offsets[v] .. offsets[v+1]) */
  offsets: Int32Array;
  /** (B·T): flat positions b·T + t, grouped by id, ascending within an id */
  positions: Int32Array;
}

/** A counting sort of positions by token id: O(B·T + V) on the CPU. Throws on an id outside [0, V). */
export function tokenPositions(tokens: Int32Array, vocab: number): TokenPositions {
  const offsets = new Int32Array(vocab + 1);
  for (let p = 0; p < tokens.length; p++) {
    const id = tokens[p];
    if (!(id >= 0 && id < vocab))
      throw new Error(`embedding: token id ${id} at position ${p} is outside [0, ${vocab})`);
    offsets[id + 1]++;
  }
  for (let v = 0; v < vocab; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, vocab);
  const positions = new Int32Array(tokens.length);
  for (let p = 0; p < tokens.length; p++) positions[next[tokens[p]]++] = p;
  return { offsets, positions };
}

export function embeddingForwardKernel(
  tokens: TensorInfo,
  wte: TensorInfo,
  wpe: TensorInfo,
  batch: number,
  seqLen: number,
  position = 0,
): TensorInfo {
  const channels = wte.shape[1];
  const out = allocate([batch, seqLen, channels]);
  const count = batch * seqLen * channels;
  dispatch({
    kernel: { ...FORWARD, consts: { WG } },
    buffers: { tokens, wte, wpe, out },
    uniforms: { count, seq_len: seqLen, channels, position },
    workgroups: grid1d(ceilDiv(count, WG)),
  });
  return out;
}

export function embeddingWteGradKernel(dout: TensorInfo, offsets: TensorInfo, positions: TensorInfo): TensorInfo {
  const vocab = offsets.shape[0] - 1;
  const channels = dout.shape[dout.shape.length - 1];
  const dwte = allocate([vocab, channels]);
  const count = vocab * channels;
  dispatch({
    kernel: { ...WTE_BACKWARD, consts: { WG } },
    buffers: { dout, offsets, positions, dwte },
    uniforms: { count, channels },
    workgroups: grid1d(ceilDiv(count, WG)),
  });
  return dwte;
}

export function embeddingWpeGradKernel(dout: TensorInfo, nPositions: number, position = 0): TensorInfo {
  const [batch, seqLen, channels] = dout.shape;
  const dwpe = allocate([nPositions, channels]);
  const count = nPositions * channels;
  dispatch({
    kernel: { ...WPE_BACKWARD, consts: { WG } },
    buffers: { dout, dwpe },
    uniforms: { count, batch, seq_len: seqLen, channels, position },
    workgroups: grid1d(ceilDiv(count, WG)),
  });
  return dwpe;
}

registerOp({
  name: 'HearthEmbeddingWteGrad',
  inputs: ['dout', 'offsets', 'positions'],
  forward: ({ dout, offsets, positions }) => embeddingWteGradKernel(dout, offsets, positions),
});
registerOp({
  name: 'HearthEmbeddingWpeGrad',
  inputs: ['dout'],
  forward: ({ dout }, attrs) => embeddingWpeGradKernel(dout, attrs.nPositions as number, attrs.position as number),
});
registerOp({
  name: 'HearthEmbedding',
  inputs: ['tokens', 'offsets', 'positions', 'wte', 'wpe'],
  forward: ({ tokens, wte, wpe }, attrs) =>
    embeddingForwardKernel(tokens, wte, wpe, attrs.batch as number, attrs.seqLen as number, attrs.position as number),
  gradient: {
    inputsToSave: ['tokens', 'offsets', 'positions'],
    grad: (dy, [tokens, offsets, positions], attrs) => {
      const dout = dy as Tensor;
      return {
        wte: () => runOp('HearthEmbeddingWteGrad', { dout, offsets, positions }),
        wpe: () =>
          runOp('HearthEmbeddingWpeGrad', { dout }, { nPositions: attrs.nPositions, position: attrs.position }),
        tokens: () => zerosLike(tokens),
        offsets: () => zerosLike(offsets),
        positions: () => zerosLike(positions),
      };
    },
  },
});

/** out[b,t,:] = wte[tokens[b·T+t], :] + wpe[position + t, :], or with `positionIds` (packed rows, B·T)
 * wpe[positionIds[b·T+t], :]; tokens and position ids are on the CPU (they come from the dataset).
 * Gradients for wte (deterministic scatter-add) and wpe (sum over the batch, or by position). */
export function embedding(
  tokens: Int32Array,
  B: number,
  T: number,
  wte: Tensor2D,
  wpe: Tensor2D,
  position = 0,
  positionIds?: Int32Array,
): Tensor3D {
  const [vocab, channels] = wte.shape;
  const [nPositions, wpeChannels] = wpe.shape;
  if (tokens.length !== B * T) throw new Error(`embedding: ${tokens.length} tokens for B·T = ${B}·${T}`);
  if (!Number.isInteger(position) || position < 0 || position + T > nPositions)
    throw new Error(`embedding: positions ${position}..${position + T - 1} exceed n_positions ${nPositions}`);
  if (wpeChannels !== channels) throw new Error(`embedding: wte has ${channels} channels, wpe ${wpeChannels}`);
  if (positionIds) return packedEmbedding(tokens, positionIds, B, T, wte, wpe);
  const csr = tokenPositions(tokens, vocab);
  const tokensT = tensor1d(tokens, 'int32');
  const offsets = tensor1d(csr.offsets, 'int32');
  const positions = tensor1d(csr.positions, 'int32');
  const out = runOp<Tensor3D>(
    'HearthEmbedding',
    { tokens: tokensT, offsets, positions, wte, wpe },
    { batch: B, seqLen: T, nPositions, position },
  );
  // The tape keeps its own copies of what the backward pass needs.
  tokensT.dispose();
  offsets.dispose();
  positions.dispose();
  return out;
}

/** Packed rows: wte[tokens] + wpe[positionIds], each a token-only embedding (deterministic gradients for both). */
function packedEmbedding(
  tokens: Int32Array,
  positionIds: Int32Array,
  B: number,
  T: number,
  wte: Tensor2D,
  wpe: Tensor2D,
): Tensor3D {
  const nPositions = wpe.shape[0];
  if (positionIds.length !== B * T)
    throw new Error(`embedding: ${positionIds.length} position ids for B·T = ${B}·${T}`);
  const bad = positionIds.findIndex((p) => !(p >= 0 && p < nPositions));
  if (bad >= 0)
    throw new Error(`embedding: position ${positionIds[bad]} of token ${bad} is outside n_positions ${nPositions}`);
  return tidy(() => add(tokenEmbedding(tokens, B, T, wte), tokenEmbedding(positionIds, B, T, wpe)));
}

/** out[b,t,:] = wte[tokens[b·T+t], :]; tokens are on the CPU. Its wte gradient is the deterministic one above. */
export function tokenEmbedding(tokens: Int32Array, B: number, T: number, wte: Tensor2D): Tensor3D {
  const [vocab, channels] = wte.shape;
  if (tokens.length !== B * T) throw new Error(`embedding: ${tokens.length} tokens for B·T = ${B}·${T}`);
  const csr = tokenPositions(tokens, vocab);
  const ids = tensor1d(tokens, 'int32');
  const offsets = tensor1d(csr.offsets, 'int32');
  const positions = tensor1d(csr.positions, 'int32');
  const op = customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [w, save] = args as [Tensor, GradSaveFunc];
    save([offsets, positions]);
    return {
      value: reshape(gather(w, ids), [B, T, channels]),
      gradFunc: (dy: Tensor, [o, p]: Tensor[]) =>
        runOp('HearthEmbeddingWteGrad', { dout: dy, offsets: o, positions: p }),
    };
  });
  const out = op(wte) as Tensor3D;
  // The tape keeps its own copies of what the backward pass needs.
  ids.dispose();
  offsets.dispose();
  positions.dispose();
  return out;
}
