// What a model family is to the rest of Hearth: its sizes under Hugging Face's common names, its parameters (names,
// shapes, initialisation, how Hugging Face files hold them) and the pieces of its forward pass (embed, block, final
// norm, logits), written against `Ops`. CausalLM (causal_lm.ts) runs any family: embed → blocks → head, the loss,
// gradients and gradient checkpointing; the decoders run the same pieces with a KV cache as the block's attention.
import type * as tf from '@tensorflow/tfjs-core';
import type { AttentionDropout, AttentionHeads, Ops } from './ops.ts';
import type { Random } from '../util/random.ts';
import type { LinearLayer, LoraWeights } from './linear.ts';
import type { HalfWeight } from '../kernels/lora/index.ts';

/** A model's sizes under Hugging Face's family-independent names (PretrainedConfig's attribute_map). */
export interface ModelSizes {
  vocab_size: number;
  max_position_embeddings: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** heads whose keys and values a KV cache keeps */
  num_key_value_heads: number;
  head_dim: number;
}

/**
 * A block's attention: qkv (B, T, (H + 2K)·D) packed [q | k | v] (positions already applied) → (B, T, H·D). Full
 * causal over the block in training and evaluation (fullCausalAttention), against the KV cache when decoding.
 * `dropout`: the attention probabilities' dropout, in training steps only.
 */
export type Attend = (
  layer: number,
  qkv: tf.Tensor3D,
  heads: AttentionHeads,
  dropout?: AttentionDropout,
) => tf.Tensor3D;

/** Training, evaluation and the full-prefix decoder: causal attention over the whole block, as `ops` computes it;
 * with `positionIds` (packed rows), within each token's own sequence. */
export const fullCausalAttention =
  (ops: Ops, positionIds?: Int32Array): Attend =>
  (_layer, qkv, heads, dropout) =>
    ops.attention(qkv, heads, dropout, positionIds);

/** What a family's forward pieces run with. */
export interface ForwardContext<D> {
  dims: D;
  /** a parameter by name */
  p(name: string): tf.Tensor;
  ops: Ops;
  /**
   * Training: dropout at the config's rates, every mask hashed from this seed and its (layer, site), so a block
   * recomputed for gradient checkpointing draws its forward's masks. Absent (evaluation, generation): no dropout.
   */
  dropoutSeed?: number;
  /** the position of the first token (the KV cache's length when decoding); 0 when absent */
  position?: number;
  /**
   * Packed rows (TRL's padding-free packing, B·T): each token's position within its own sequence, counting from 0 at
   * the sequence's first token. Position embeddings and RoPE read it in place of position + t, and attention stays
   * within each sequence (fullCausalAttention). Absent: one sequence per row.
   */
  positionIds?: Int32Array;
  /** a LoRA adapter's weights on the linear layer `module`, when one is attached there (linear.ts) */
  lora?(module: string): LoraWeights | undefined;
  /** a frozen weight held in f16 (LoRA's halfBase) by its parameter name, instead of p's f32 one */
  halfWeight?(name: string): HalfWeight | undefined;
}

/** How Hugging Face files name a family's parameters, beyond the names themselves. */
export interface HfWeightNames {
  /** the base model's prefix in a *LMHeadModel file ('transformer.' for GPT-2), dropped on reading */
  prefix: string;
  /** buffers a file may hold that are not parameters (GPT-2's causal-mask buffers) */
  isBuffer(name: string): boolean;
  /** an output head tied to an input embedding (when the model has no such parameter of its own): a file may hold it,
   * bitwise equal to the embedding */
  tiedHead?: { name: string; tiedTo: string };
  /**
   * Whether written files name parameters as save_pretrained does, under the prefix (except `outsidePrefix`, an
   * untied head). GPT-2's files go without it: Hugging Face loads a base model's names into the head model when the
   * head is tied, and earlier exports are kept byte for byte.
   */
  writePrefix: boolean;
  /** parameters of the *ForCausalLM model outside the base model (lm_head.weight) */
  outsidePrefix?: string[];
}

/** A family over D, what its models are built from, and C, its whole config.json (a C is a D). */
export interface ModelFamily<D, C extends D = D> {
  /** Hugging Face's model_type */
  readonly modelType: string;
  /** for people: "GPT-2" */
  readonly label: string;
  readonly hfWeights: HfWeightNames;
  /** config.json's object (of this model_type) → the config: defaults for missing keys, validated */
  configFromJson(json: Record<string, unknown>): C;
  /** the config → config.json's object, as Hugging Face writes it */
  configToJson(c: C): Record<string, unknown>;
  sizes(d: D): ModelSizes;
  /** throws a ModelConfigError naming what cannot be built */
  validate(d: D): void;
  /** every parameter by its Hugging Face name and shape, in the family's order */
  parameterShapes(d: D): [string, number[]][];
  /** a new model's values of one parameter (the family's initialisation), drawn from rng */
  initialValues(d: D, name: string, size: number, rng: Random): Float32Array;
  /** every linear layer the forward runs through linear.ts, by Hugging Face module name (what LoRA can target);
   * the output head is left out, as PEFT's "all-linear" leaves it */
  linearLayers?(d: D): LinearLayer[];
  /** the parameters embed reads (gradient checkpointing differentiates the parts one by one) */
  embeddingParameters(d: D): string[];
  /** the parameters block `layer` reads */
  blockParameters(d: D, layer: number): string[];
  /** the parameters finalNorm and logits read */
  headParameters(d: D): string[];
  /** tokens (B, T) row-major at positions position .. position+T−1 → the first block's input (B·T, hidden) */
  embed(ctx: ForwardContext<D>, tokens: Int32Array, B: number, T: number, position: number): tf.Tensor2D;
  /** block `layer` on x (B·T, hidden), its attention through `attend` */
  block(ctx: ForwardContext<D>, layer: number, x: tf.Tensor2D, B: number, T: number, attend: Attend): tf.Tensor2D;
  /** the last block's output → the head's input (B·T, hidden) */
  finalNorm(ctx: ForwardContext<D>, x: tf.Tensor2D): tf.Tensor2D;
  /** finalNorm's output (rows, hidden) → logits (rows, vocab_size) */
  logits(ctx: ForwardContext<D>, h: tf.Tensor2D): tf.Tensor2D;
}
