// A Hearth checkpoint as a GGUF file that llama.cpp (and so Ollama and wllama) runs: tensor names, layouts, types and
// metadata as llama.cpp's own converter (convert_hf_to_gguf.py) writes them. A family is a table here: its GGUF
// architecture name, its hyperparameter keys, and its tensors by Hugging Face name.
import { innerDim, type GPT2Config } from '../model/families/gpt2_config.ts';
import type { ModelConfig } from '../model/families/index.ts';
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

/** One tensor of the file: its GGUF name, the Hearth parameter it comes from, and whether it is transposed. */
interface TensorSource {
  gguf: string;
  hearth: string;
  /** GPT-2's Conv1D keeps (in, out); ggml's matrices are (out, in) rows. */
  transpose?: boolean;
}

interface GgufArchitecture {
  /** general.architecture, and the prefix of the hyperparameter keys */
  name: string;
  hyperparameters(c: ModelConfig): [string, GgufValue][];
  tensors(c: ModelConfig): TensorSource[];
  /** tensors the converter keeps in F32 besides 1-D ones, norms and biases */
  keepF32: RegExp;
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

const ARCHITECTURES: Record<string, GgufArchitecture> = { gpt2 };

function architectureOf(c: ModelConfig): GgufArchitecture {
  const arch = ARCHITECTURES[c.model_type];
  if (!arch)
    throw new Error(
      `cannot export GGUF: model_type "${c.model_type}" has no GGUF layout in Hearth (it writes ${Object.keys(ARCHITECTURES).join(', ')})`,
    );
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
  const tensors: GgufTensor[] = arch.tensors(c).map((s) => {
    const t = ckpt.weights.get(s.hearth)!;
    const [rows, cols] = s.transpose ? [t.shape[1], t.shape[0]] : [t.shape[0], t.shape[1]];
    const dims = t.shape.length === 1 ? [t.shape[0]] : [cols, rows];
    return {
      name: s.gguf,
      dims,
      type: ggufTensorType(s.gguf, dims, dtype, arch),
      values: () => (s.transpose ? transposed(t.data, t.shape[0], t.shape[1]) : t.data),
    };
  });
  return buildGguf(metadata, tensors);
}

/** (rows, cols) row-major to (cols, rows) row-major. */
function transposed(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = x[r * cols + k];
  return out;
}
