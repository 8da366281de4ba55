// Reverse-mode gradients over tfjs's tape, freeing as the backward goes, as PyTorch's autograd does.
//
// tfjs's own backward (engine.gradients, behind tf.grads and tf.variableGrads) keeps every intermediate gradient and
// every tensor the forward saved for the backward until the whole backward ends, so its peak holds all of them at
// once. The 'freeing' backward records the same tape (tfjs's engine, the same kernels and gradient functions) and
// walks it in the same reverse order, making the same calls in the same order, so its results are tfjs's bit for
// bit; but it releases a tensor's gradient as soon as the node that produced the tensor has used it (every consumer
// of a tensor comes later on the tape, so its gradient is complete by then), and a node's saved tensors as soon as
// its gradient has run. The saved tensors are the engine's own clones (they share the buffers of the activations,
// variables and inputs they copy, which stay alive while anything else holds them), so releasing them never frees
// anything the caller holds.
import * as tf from '@tensorflow/tfjs-core';

/** Which backward computes the gradients: the freeing one (the default), or tfjs's own, kept for comparison. */
export type BackwardKind = 'freeing' | 'tfjs';

/** One recorded operation, as tfjs's engine records it (its TapeNode, which tfjs-core does not export). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The engine's members the backward uses; tfjs declares the tape's private, so they are reached through this. */
interface EngineTape {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  gradients<T extends tf.Tensor>(
    f: () => T,
    xs: tf.Tensor[],
    dy?: T | null,
    allowNoGradients?: boolean,
  ): { value: T; grads: tf.Tensor[] };
}

export interface Gradients<T extends tf.Tensor> {
  value: T;
  /** one per x, in order: null where the value does not depend on that x */
  grads: (tf.Tensor | null)[];
}

/**
 * The value of `f()` and its gradients with respect to each of `xs` (times `dy`, ones by default), as
 * tfjs's engine.gradients computes them. The caller owns the value and the gradients; `dy` stays the caller's.
 */
export function gradients<T extends tf.Tensor>(
  f: () => T,
  xs: tf.Tensor[],
  dy: tf.Tensor | null = null,
  backward: BackwardKind = 'freeing',
): Gradients<T> {
  if (xs.length === 0) throw new Error('gradients: no tensors to differentiate with respect to');
  if (dy && dy.dtype !== 'float32') throw new Error(`gradients: dy must be float32, got ${dy.dtype}`);
  const engine = tf.engine() as unknown as EngineTape;
  // Inside another recording (a higher-order gradient) the outer backward needs every saved tensor: tfjs's own.
  if (backward === 'tfjs' || engine.state.gradientDepth > 0) {
    const { value, grads } = engine.gradients(f, xs, dy as T | null, true);
    checkDy(value, dy);
    return { value, grads: grads.map((g) => g ?? null) };
  }
  engine.startTape();
  let value: T;
  try {
    value = engine.tidy('forward', f);
  } catch (e) {
    disposeSaved(engine.state.activeTape ?? []);
    throw e;
  } finally {
    engine.endTape();
  }
  const tape = engine.state.activeTape ?? [];
  engine.state.activeTape = null;
  if (!(value instanceof tf.Tensor)) {
    disposeSaved(tape);
    throw new Error('gradients: f must return a tensor');
  }
  checkDy(value, dy);
  const nodes = nodesFromXsToY(tape, xs, value);
  // What no gradient reaches is released before the backward starts.
  const onPath = new Set(nodes.map((n) => n.id));
  disposeSaved(tape.filter((n) => !onPath.has(n.id)));
  try {
    // (tidy's container type has no null; a null is passed through untouched)
    const grads = engine.tidy('backward', () => backpropagate(nodes, xs, value, dy) as tf.Tensor[]);
    return { value, grads };
  } catch (e) {
    disposeSaved(nodes);
    value.dispose();
    throw e;
  }
}

function checkDy(value: tf.Tensor, dy: tf.Tensor | null): void {
  if (dy && value.shape.join(',') !== dy.shape.join(','))
    throw new Error(`gradients: dy has shape [${dy.shape}], the value [${value.shape}]`);
}

function disposeSaved(nodes: TapeNode[]): void {
  for (const n of nodes) for (const t of n.saved ?? []) if (!(t instanceof tf.Variable)) t.dispose();
}

/**
 * The nodes on a path from one of xs to y, in tape order, each with only its inputs that depend on xs (the only
 * ones a gradient is computed for): the subgraph tfjs's backward walks.
 */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodeFromX = tape.map((n) => {
    const reached = Object.values(n.inputs).some((t) => fromX.has(t.id));
    if (reached) for (const o of n.outputs) fromX.add(o.id);
    return reached;
  });
  const toY = new Set([y.id]);
  const nodeToY = new Array<boolean>(tape.length).fill(false);
  for (let i = tape.length - 1; i >= 0; i--) {
    const n = tape[i];
    const inputs = Object.values(n.inputs);
    if (inputs.length > 0 && n.outputs.some((o) => toY.has(o.id))) {
      for (const t of inputs) toY.add(t.id);
      nodeToY[i] = true;
    }
  }
  const path: TapeNode[] = [];
  tape.forEach((n, i) => {
    if (!nodeFromX[i] || !nodeToY[i]) return;
    const inputs = Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id)));
    path.push({ ...n, inputs });
  });
  return path;
}

/**
 * Walks the path backwards from y (seeded with dy or ones): per node its input gradients, each summed into its
 * tensor's running gradient in tfjs's order; then the node's output gradients and saved tensors are released.
 * A gradient tensor may stand for several tensors (a gradient function may pass its dy through), so it is
 * disposed only when no running gradient holds it and it is not the caller's dy.
 */
function backpropagate(nodes: TapeNode[], xs: tf.Tensor[], y: tf.Tensor, dy: tf.Tensor | null): (tf.Tensor | null)[] {
  const running = new Map<number, tf.Tensor>(); // tensor id → its gradient so far
  const holders = new Map<tf.Tensor, number>(); // gradient → how many entries of `running` hold it
  const resultIds = new Set(xs.map((x) => x.id));
  const hold = (id: number, g: tf.Tensor) => {
    running.set(id, g);
    holders.set(g, (holders.get(g) ?? 0) + 1);
  };
  const release = (g: tf.Tensor) => {
    const n = (holders.get(g) ?? 0) - 1;
    if (n > 0) holders.set(g, n);
    else {
      holders.delete(g);
      if (g !== dy) g.dispose();
    }
  };
  hold(y.id, dy ?? tf.ones(y.shape));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.gradient) throw new Error(`gradients: no gradient function for ${node.kernelName}`);
    const names = Object.keys(node.inputs);
    const dys = node.outputs.map((o) => running.get(o.id) ?? null);
    // As tfjs does: each input's gradient function runs and its result is summed in before the next input's runs.
    const consumed: tf.Tensor[] = [];
    tf.tidy(() => {
      const thunks = node.gradient!(dys);
      const kept: tf.Tensor[] = [];
      for (const name of names) {
        if (!(name in thunks))
          throw new Error(`gradients: ${node.kernelName} gives no gradient for its input '${name}'`);
        const dx = tf.tidy(thunks[name]);
        const x = node.inputs[name];
        if (dx.dtype !== 'float32')
          throw new Error(`gradients: ${node.kernelName}'s gradient of '${name}' is ${dx.dtype}, not float32`);
        if (dx.shape.join(',') !== x.shape.join(','))
          throw new Error(
            `gradients: ${node.kernelName}'s gradient of '${name}' has shape [${dx.shape}], the input [${x.shape}]`,
          );
        const before = running.get(x.id);
        const total = before ? tf.add(before, dx) : dx;
        hold(x.id, total);
        kept.push(total);
        if (before) {
          release(before);
          consumed.push(dx);
        }
      }
      // what is held lives on past this node; the rest made here goes with the scope
      return kept.filter((t) => !t.isDisposed);
    });
    // Gradients that went into a sum (or were a passed-through dy) and are held nowhere; only now, since one
    // tensor may be the gradient of two inputs.
    for (const dx of consumed) if (!holders.has(dx) && dx !== dy) dx.dispose();
    for (const o of node.outputs) {
      const g = running.get(o.id);
      if (!g || resultIds.has(o.id)) continue;
      running.delete(o.id);
      release(g);
    }
    for (const t of node.saved ?? []) if (!holders.has(t) && !(t instanceof tf.Variable)) t.dispose();
  }
  const grads = xs.map((x) => running.get(x.id) ?? null);
  const results = new Set(grads);
  for (const [id, g] of running) if (!resultIds.has(id) && !results.has(g)) release(g);
  return grads;
}
