// A Hearth checkpoint as a GGUF file that llama.cpp (and so Ollama and wllama) runs: tensor names, layouts, types and
// metadata as llama.cpp's own converter (convert_hf_to_gguf.py) writes them. A family is a table here: its GGUF
// architecture name, its hyperparameter keys, and its tensors by Hugging Face name. GPT-2 is llama.cpp's "gpt2";
// Llama and Mistral are its "llama" (q and k rows permuted for its rotary layout); Qwen2 is its "qwen2".
import { innerDim, type GPT2Config } from '../model/families/gpt2_config.ts';
import type { ModelConfig } from '../model/families/index.ts';
import {
  headDim,
  kvHeads,
  mlpBias,
  oBias,
  qkvBias,
  ropeTheta,
  tiedHead,
  type LlamaConfig,
} from '../model/families/llama_config.ts';
import { ropeType } from '../model/rope.ts';
import { checkHearthWeights } from './weights.ts';
import type { GgufDtype } from './gguf_dtypes.ts';
import {
  buildGguf,
  f32,
  Q8_0_BLOCK,
  str,
  u32,
  GGUF_ALIGNMENT,
  type GgmlType,
  type GgufFile,
  type GgufTensor,
  type GgufValue,
} from './gguf.ts';
import { ggufTokenizerMetadata } from './gguf_tokenizer.ts';
import type { HearthCheckpoint } from './hf_folder.ts';

export { GGUF_DTYPES, type GgufDtype } from './gguf_dtypes.ts';

/** llama.cpp's general.file_type (LLAMA_FTYPE_ALL_F32, _MOSTLY_F16, _MOSTLY_Q8_0). */
const FILE_TYPE: Record<GgufDtype, number> = { F32: 0, F16: 1, Q8_0: 7 };
/** ggml's quantisation format version (GGML_QNT_VERSION), which the converter always writes. */
const QUANTIZATION_VERSION = 2;

/** One tensor of the file: its GGUF name, the Hearth parameter it comes from, and how its layout changes. */
interface TensorSource {
  gguf: string;
  hearth: string;
  /** GPT-2's Conv1D keeps (in, out); ggml's matrices are (out, in) rows. */
  transpose?: boolean;
  /** q or k of llama.cpp's "llama": rows permuted within each of this many heads (see permuteRotaryRows) */
  permuteHeads?: number;
}

/** A tensor the converter computes rather than copies (Llama 3's rope_freqs): 1-D, F32. */
interface ComputedTensor {
  gguf: string;
  values: Float32Array;
}

interface GgufArchitecture {
  /** general.architecture, and the prefix of the hyperparameter keys */
  name: string;
  hyperparameters(c: ModelConfig): [string, GgufValue][];
  tensors(c: ModelConfig): TensorSource[];
  /** tensors the converter computes, written first as its generate_extra_tensors are */
  computed?(c: ModelConfig): ComputedTensor[];
  /** tensors the converter keeps in F32 besides 1-D ones, norms and biases */
  keepF32: RegExp;
  /** throws, naming what llama.cpp's architecture cannot run the way Hearth does */
  check?(c: ModelConfig): void;
}

const GPT2_BLOCK: [hf: string, gguf: string, transpose?: boolean][] = [
  ['ln_1.weight', 'attn_norm.weight'],
  ['ln_1.bias', 'attn_norm.bias'],
  ['attn.c_attn.weight', 'attn_qkv.weight', true],
  ['attn.c_attn.bias', 'attn_qkv.bias'],
  ['attn.c_proj.weight', 'attn_output.weight', true],
  ['attn.c_proj.bias', 'attn_output.bias'],
  ['ln_2.weight', 'ffn_norm.weight'],
  ['ln_2.bias', 'ffn_norm.bias'],
  ['mlp.c_fc.weight', 'ffn_up.weight', true],
  ['mlp.c_fc.bias', 'ffn_up.bias'],
  ['mlp.c_proj.weight', 'ffn_down.weight', true],
  ['mlp.c_proj.bias', 'ffn_down.bias'],
];

const gpt2: GgufArchitecture = {
  name: 'gpt2',
  hyperparameters: (c: GPT2Config) => [
    ['context_length', u32(c.n_positions)],
    ['embedding_length', u32(c.n_embd)],
    ['block_count', u32(c.n_layer)],
    ['feed_forward_length', u32(innerDim(c))],
    ['attention.head_count', u32(c.n_head)],
    ['attention.layer_norm_epsilon', f32(c.layer_norm_epsilon)],
  ],
  tensors(c: GPT2Config) {
    const out: TensorSource[] = [
      { gguf: 'token_embd.weight', hearth: 'wte.weight' },
      // The head is tied to wte; the converter writes it out as its own tensor all the same.
      { gguf: 'output.weight', hearth: 'wte.weight' },
      { gguf: 'position_embd.weight', hearth: 'wpe.weight' },
    ];
    for (let l = 0; l < c.n_layer; l++)
      for (const [hf, name, transpose] of GPT2_BLOCK)
        out.push({ gguf: `blk.${l}.${name}`, hearth: `h.${l}.${hf}`, transpose });
    out.push({ gguf: 'output_norm.weight', hearth: 'ln_f.weight' }, { gguf: 'output_norm.bias', hearth: 'ln_f.bias' });
    return out;
  },
  keepF32: /^position_embd\./,
};

/**
 * llama.cpp's "llama" rotates pairs of adjacent values (its rope mode 0) where Hugging Face rotates the two halves of
 * a head, so the converter permutes each head's rows of q and k (weights and biases): within a head of D rows, row
 * j·D/2 + i goes to row 2i + j. permute() in convert_hf_to_gguf.py: reshape(heads, 2, D/2, …).swapaxes(1, 2).
 */
function permuteRotaryRows(x: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const D = rows / heads;
  const half = D / 2;
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < half; i++) {
        const from = (h * D + j * half + i) * cols;
        out.set(x.subarray(from, from + cols), (h * D + 2 * i + j) * cols);
      }
  return out;
}

const llamaBlock = (c: LlamaConfig, l: number, permute: boolean): TensorSource[] => {
  const h = `layers.${l}.`;
  const b = `blk.${l}.`;
  const out: TensorSource[] = [{ gguf: `${b}attn_norm.weight`, hearth: `${h}input_layernorm.weight` }];
  const attention: [string, string, boolean, number | undefined][] = [
    ['q_proj', 'attn_q', qkvBias(c), permute ? c.num_attention_heads : undefined],
    ['k_proj', 'attn_k', qkvBias(c), permute ? kvHeads(c) : undefined],
    ['v_proj', 'attn_v', qkvBias(c), undefined],
    ['o_proj', 'attn_output', oBias(c), undefined],
  ];
  const mlp: [string, string, boolean, undefined][] = [
    ['gate_proj', 'ffn_gate', mlpBias(c), undefined],
    ['up_proj', 'ffn_up', mlpBias(c), undefined],
    ['down_proj', 'ffn_down', mlpBias(c), undefined],
  ];
  const linear = ([hf, name, bias, permuteHeads]: [string, string, boolean, number | undefined], part: string) => {
    out.push({ gguf: `${b}${name}.weight`, hearth: `${h}${part}.${hf}.weight`, permuteHeads });
    if (bias) out.push({ gguf: `${b}${name}.bias`, hearth: `${h}${part}.${hf}.bias`, permuteHeads });
  };
  for (const a of attention) linear(a, 'self_attn');
  out.push({ gguf: `${b}ffn_norm.weight`, hearth: `${h}post_attention_layernorm.weight` });
  for (const m of mlp) linear(m, 'mlp');
  return out;
};

function llamaTensors(c: LlamaConfig, permute: boolean): TensorSource[] {
  const out: TensorSource[] = [{ gguf: 'token_embd.weight', hearth: 'embed_tokens.weight' }];
  for (let l = 0; l < c.num_hidden_layers; l++) out.push(...llamaBlock(c, l, permute));
  out.push({ gguf: 'output_norm.weight', hearth: 'norm.weight' });
  // A tied head has no lm_head.weight: llama.cpp reads token_embd in its place.
  if (!tiedHead(c)) out.push({ gguf: 'output.weight', hearth: 'lm_head.weight' });
  return out;
}

/** The keys both converters write (TextModel.set_gguf_parameters), and rope scaling by factor. */
function llamaHyperparameters(c: LlamaConfig, own: [string, GgufValue][]): [string, GgufValue][] {
  const out: [string, GgufValue][] = [
    ['block_count', u32(c.num_hidden_layers)],
    ['context_length', u32(c.max_position_embeddings)],
    ['embedding_length', u32(c.hidden_size)],
    ['feed_forward_length', u32(c.intermediate_size)],
    ['attention.head_count', u32(c.num_attention_heads)],
    ['attention.head_count_kv', u32(kvHeads(c))],
    ['rope.freq_base', f32(ropeTheta(c))],
    ['attention.layer_norm_rms_epsilon', f32(c.rms_norm_eps)],
    ...own,
  ];
  // llama.cpp takes a head as hidden_size / heads unless told: a head_dim of its own is written out.
  if (headDim(c) * c.num_attention_heads !== c.hidden_size)
    out.push(['attention.key_length', u32(headDim(c))], ['attention.value_length', u32(headDim(c))]);
  if (ropeType(c.rope_scaling) === 'linear')
    out.push(['rope.scaling.type', str('linear')], ['rope.scaling.factor', f32(c.rope_scaling!.factor!)]);
  return out;
}

/**
 * Llama 3's rope scaling as llama.cpp runs it: a rope_freqs tensor of one factor per rotated pair, each frequency
 * divided by its factor (the converter's generate_extra_tensors). The converter reads original_max_position_embeddings
 * at config.json's top level (falling back to 8192, Llama 3.1's value); Hearth takes rope_scaling's own, the one
 * Hugging Face and Hearth compute with, so llama.cpp turns the same angles.
 */
function llama3RopeFactors(c: LlamaConfig): Float32Array {
  const s = c.rope_scaling!;
  const D = headDim(c);
  const theta = ropeTheta(c);
  const [factor, low, high, old] = [
    s.factor!,
    s.low_freq_factor!,
    s.high_freq_factor!,
    s.original_max_position_embeddings!,
  ];
  const out = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) {
    const freq = Math.fround(1 / Math.pow(theta, Math.fround((2 * i) / D)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < old / high) out[i] = 1;
    else if (wavelen > old / low) out[i] = factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

const llama: GgufArchitecture = {
  name: 'llama',
  hyperparameters: (c: LlamaConfig) =>
    llamaHyperparameters(c, [
      ['vocab_size', u32(c.vocab_size)],
      ['rope.dimension_count', u32(headDim(c))],
    ]),
  tensors: (c: LlamaConfig) => llamaTensors(c, true),
  computed: (c: LlamaConfig) =>
    ropeType(c.rope_scaling) === 'llama3' ? [{ gguf: 'rope_freqs.weight', values: llama3RopeFactors(c) }] : [],
  keepF32: /^rope_freqs\./,
};

const qwen2: GgufArchitecture = {
  name: 'qwen2',
  // The converter's Qwen2 writes no rope.dimension_count (llama.cpp then rotates the whole head), except that a
  // head_dim of its own needs one.
  hyperparameters: (c: LlamaConfig) =>
    llamaHyperparameters(
      c,
      headDim(c) * c.num_attention_heads === c.hidden_size ? [] : [['rope.dimension_count', u32(headDim(c))]],
    ),
  tensors: (c: LlamaConfig) => llamaTensors(c, false),
  keepF32: /$^/,
  check(c: LlamaConfig) {
    if (ropeType(c.rope_scaling) === 'llama3')
      throw new Error(
        `cannot export GGUF: rope_scaling type "llama3" on a qwen2 model has no form in llama.cpp's qwen2 architecture (it reads no rope_freqs)`,
      );
    if (oBias(c) || mlpBias(c))
      throw new Error("cannot export GGUF: llama.cpp's qwen2 architecture has no o_proj or MLP biases");
  },
};

/** GGUF's architecture per Hugging Face model_type: Mistral's stack is Llama's, and the converter writes it so. */
const ARCHITECTURES: Record<string, GgufArchitecture> = { gpt2, llama, mistral: llama, qwen2 };

function architectureOf(c: ModelConfig): GgufArchitecture {
  const arch = ARCHITECTURES[c.model_type];
  if (!arch)
    throw new Error(
      `cannot export GGUF: model_type "${c.model_type}" has no GGUF layout in Hearth (GGUF export supports ${Object.keys(ARCHITECTURES).join(', ')})`,
    );
  arch.check?.(c);
  return arch;
}

/**
 * The type a tensor is stored as, by the converter's rules: 1-D tensors, norms, biases and the architecture's own
 * exceptions stay F32; Q8_0 falls back to F16 for rows that are not whole blocks.
 */
function ggufTensorType(name: string, dims: readonly number[], dtype: GgufDtype, arch = gpt2): GgmlType {
  if (dtype === 'F32' || dims.length <= 1 || name.endsWith('_norm.weight') || !name.endsWith('.weight')) return 'F32';
  if (arch.keepF32.test(name)) return 'F32';
  if (dtype === 'Q8_0' && dims[0] % Q8_0_BLOCK !== 0) return 'F16';
  return dtype;
}

export interface GgufExportOptions {
  dtype?: GgufDtype;
  /** general.name */
  name?: string;
}

/**
 * A checkpoint as a GGUF file. Tensors are encoded one at a time as the file's parts are read; F32 tensors that need
 * no transposing are written from the weights themselves.
 */
export function checkpointToGguf(ckpt: HearthCheckpoint, options: GgufExportOptions = {}): GgufFile {
  const dtype = options.dtype ?? 'F32';
  const c = ckpt.config;
  const arch = architectureOf(c);
  checkHearthWeights(ckpt.weights, c);
  const metadata: [string, GgufValue][] = [
    ['general.architecture', str(arch.name)],
    ['general.type', str('model')],
    ['general.name', str(options.name ?? 'Hearth model')],
    ['general.file_type', u32(FILE_TYPE[dtype])],
    ['general.quantization_version', u32(QUANTIZATION_VERSION)],
    ['general.alignment', u32(GGUF_ALIGNMENT)],
    ...arch.hyperparameters(c).map(([k, v]): [string, GgufValue] => [`${arch.name}.${k}`, v]),
    ...ggufTokenizerMetadata(ckpt.tokenizer, ckpt.generationConfig, c),
  ];
  const computed: GgufTensor[] = (arch.computed?.(c) ?? []).map((t) => ({
    name: t.gguf,
    dims: [t.values.length],
    type: 'F32',
    values: () => t.values,
  }));
  const tensors: GgufTensor[] = arch.tensors(c).map((s) => {
    const t = ckpt.weights.get(s.hearth)!;
    const [rows, cols] = s.transpose ? [t.shape[1], t.shape[0]] : [t.shape[0], t.shape[1]];
    const dims = t.shape.length === 1 ? [t.shape[0]] : [cols, rows];
    const values = () => {
      if (s.transpose) return transposed(t.data, t.shape[0], t.shape[1]);
      if (s.permuteHeads) return permuteRotaryRows(t.data, t.shape[0], t.shape[1] ?? 1, s.permuteHeads);
      return t.data;
    };
    return { name: s.gguf, dims, type: ggufTensorType(s.gguf, dims, dtype, arch), values };
  });
  return buildGguf(metadata, [...computed, ...tensors]);
}

/** (rows, cols) row-major to (cols, rows) row-major. */
function transposed(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = x[r * cols + k];
  return out;
}
