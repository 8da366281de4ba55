// PEFT adapter folders: Hearth's export read back bit for bit; a folder written the way PEFT's save_pretrained writes
// one (every LoraConfig field, 'base_model.model.' names, the safetensors library's layout) read onto its base; an
// adapter of a base with other sizes refused with the tensor and both shapes; merging as merge_and_unload.
import { describe, expect, it } from 'vitest';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  adapterFromFiles,
  adapterToFiles,
  mergeAdapter,
} from '../../src/core/checkpoint/peft_adapter.ts';
import { CheckpointError } from '../../src/core/checkpoint/errors.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import { parseModelConfig, type ModelConfig } from '../../src/core/model/families/index.ts';
import { DEFAULT_LORA_CONFIG, type LoraConfig } from '../../src/core/model/lora/config.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { randomTensors, tinyCheckpoint, tinyConfig } from './checkpoint_fixtures.ts';
import { hfSafetensors, rawTensor, type RawTensor } from './hf_fixtures.ts';

const encode = (s: string) => new TextEncoder().encode(s);
/** Whether two float32 arrays hold the same bits. */
const bitwiseEqual = (a: Float32Array, b: Float32Array) =>
  a.length === b.length &&
  new Uint32Array(a.buffer, a.byteOffset, a.length).every(
    (v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i],
  );
const decodeJson = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

const LLAMA = parseModelConfig({
  model_type: 'llama',
  vocab_size: 23,
  hidden_size: 12,
  intermediate_size: 19,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
});

/** PEFT's adapter_config.json for a LoRA of these settings, every field save_pretrained writes (PEFT 0.13). */
function peftConfigJson(o: Record<string, unknown>): string {
  return JSON.stringify(
    {
      alpha_pattern: {},
      auto_mapping: null,
      base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M',
      bias: 'none',
      fan_in_fan_out: false,
      inference_mode: true,
      init_lora_weights: true,
      layer_replication: null,
      layers_pattern: null,
      layers_to_transform: null,
      loftq_config: {},
      lora_alpha: 16,
      lora_dropout: 0.05,
      megatron_config: null,
      megatron_core: 'megatron.core',
      modules_to_save: null,
      peft_type: 'LORA',
      r: 4,
      rank_pattern: {},
      revision: null,
      target_modules: ['v_proj', 'q_proj'],
      task_type: 'CAUSAL_LM',
      use_dora: false,
      use_rslora: false,
      ...o,
    },
    null,
    2,
  );
}

/** The Llama adapter's tensors under PEFT's names, as the safetensors library lays them out. */
function peftFolder(config: ModelConfig, r: number, modules: string[], seed: number, json = {}) {
  const layers = modelParameterShapes(config);
  const raw = new Map<string, RawTensor>();
  const values = new Map<string, Float32Array>();
  for (const [name, shape] of layers) {
    const m = name.match(/^layers\.(\d+)\.self_attn\.(\w+)\.weight$/);
    if (!m || !modules.includes(m[2])) continue;
    const module = `model.layers.${m[1]}.self_attn.${m[2]}`;
    const t = randomTensors(
      new Map([
        [`${module}.lora_A.weight`, [r, shape[1]]],
        [`${module}.lora_B.weight`, [shape[0], r]],
      ]),
      seed++,
    );
    for (const [n, v] of t) {
      raw.set(`base_model.model.${n}`, rawTensor(v.data, v.shape, 'F32'));
      values.set(n.replace(/^model\./, ''), v.data);
    }
  }
  const files = new Map<string, Uint8Array>([
    [ADAPTER_CONFIG_FILE, encode(peftConfigJson({ r, ...json }))],
    [ADAPTER_WEIGHTS_FILE, hfSafetensors(raw)],
  ]);
  return { files, values };
}

const lora = (o: Partial<LoraConfig>): LoraConfig => ({ ...DEFAULT_LORA_CONFIG, ...o });

describe('PEFT adapter folders', () => {
  it('export → import is bit-exact, with the fields PEFT writes (GPT-2: fan_in_fan_out, all-linear resolved)', () => {
    const c = tinyConfig();
    const config = lora({ r: 3, lora_alpha: 6, lora_dropout: 0.1, target_modules: 'all-linear', use_rslora: true });
    const shapes = new Map<string, number[]>();
    for (let l = 0; l < 2; l++) {
      for (const [m, i, o] of [
        ['attn.c_attn', 8, 24],
        ['attn.c_proj', 8, 8],
        ['mlp.c_fc', 8, 32],
        ['mlp.c_proj', 32, 8],
      ] as const) {
        shapes.set(`h.${l}.${m}.lora_A.weight`, [3, i]);
        shapes.set(`h.${l}.${m}.lora_B.weight`, [o, 3]);
      }
    }
    const tensors = randomTensors(shapes, 11);
    const files = adapterToFiles(c, config, tensors, 'gpt2');
    const json = decodeJson(files.get(ADAPTER_CONFIG_FILE)!);
    expect(json).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'gpt2',
      r: 3,
      lora_alpha: 6,
      lora_dropout: 0.1,
      target_modules: ['c_attn', 'c_fc', 'c_proj'],
      bias: 'none',
      use_rslora: true,
      fan_in_fan_out: true,
      modules_to_save: null,
      use_dora: false,
    });
    const header = new TextDecoder().decode(files.get(ADAPTER_WEIGHTS_FILE)!.subarray(8, 400));
    expect(header).toContain(
      '"base_model.model.transformer.h.0.attn.c_attn.lora_A.weight":{"dtype":"F32","shape":[3,8]',
    );
    const back = adapterFromFiles(files, c);
    expect(back.baseModel).toBe('gpt2');
    expect(back.config).toMatchObject({ r: 3, lora_alpha: 6, lora_dropout: 0.1, use_rslora: true });
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [n, t] of tensors) expect(bitwiseEqual(back.tensors.get(n)!.data, t.data), n).toBe(true);
  });

  it("export → import is bit-exact on GPT-NeoX (PEFT's default query_key_value, nn.Linear, 'gpt_neox.' names)", () => {
    const c = parseModelConfig({
      model_type: 'gpt_neox',
      vocab_size: 23,
      hidden_size: 8,
      intermediate_size: 13,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      max_position_embeddings: 16,
      rotary_pct: 0.5,
    });
    const config = lora({ r: 2, lora_alpha: 4, target_modules: null });
    const shapes = new Map<string, number[]>();
    for (let l = 0; l < 2; l++) {
      shapes.set(`layers.${l}.attention.query_key_value.lora_A.weight`, [2, 8]);
      shapes.set(`layers.${l}.attention.query_key_value.lora_B.weight`, [24, 2]);
    }
    const tensors = randomTensors(shapes, 13);
    const files = adapterToFiles(c, config, tensors, 'EleutherAI/pythia-14m');
    expect(decodeJson(files.get(ADAPTER_CONFIG_FILE)!)).toMatchObject({
      target_modules: ['query_key_value'],
      fan_in_fan_out: false,
    });
    const header = new TextDecoder().decode(files.get(ADAPTER_WEIGHTS_FILE)!.subarray(8, 400));
    expect(header).toContain(
      '"base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_B.weight":{"dtype":"F32","shape":[24,2]',
    );
    const back = adapterFromFiles(files, c);
    expect(back.targets.map((l) => l.module)).toEqual([
      'layers.0.attention.query_key_value',
      'layers.1.attention.query_key_value',
    ]);
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [n, t] of tensors) expect(bitwiseEqual(back.tensors.get(n)!.data, t.data), n).toBe(true);
  });

  it('reads a folder PEFT wrote for a Llama base, and merges it as merge_and_unload', () => {
    const { files, values } = peftFolder(LLAMA, 4, ['q_proj', 'v_proj'], 5);
    const adapter = adapterFromFiles(files, LLAMA);
    expect(adapter.config).toEqual({
      r: 4,
      lora_alpha: 16,
      lora_dropout: 0.05,
      target_modules: ['v_proj', 'q_proj'],
      bias: 'none',
      use_rslora: false,
      modules_to_save: null,
    });
    expect(adapter.baseModel).toBe('HuggingFaceTB/SmolLM2-135M');
    expect(adapter.targets.map((l) => l.module)).toEqual([
      'layers.0.self_attn.q_proj',
      'layers.0.self_attn.v_proj',
      'layers.1.self_attn.q_proj',
      'layers.1.self_attn.v_proj',
    ]);
    for (const [n, v] of values) expect(bitwiseEqual(adapter.tensors.get(n)!.data, v), n).toBe(true);

    const weights = randomTensors(modelParameterShapes(LLAMA), 3);
    const base = { config: LLAMA, weights, tokenizer: {} };
    const merged = mergeAdapter(base, adapter);
    // W + (α/r)·B·A in float64, element (o, i) of v_proj [out 6, in 12] in layer 1
    const A = values.get('layers.1.self_attn.v_proj.lora_A.weight')!;
    const B = values.get('layers.1.self_attn.v_proj.lora_B.weight')!;
    const W = weights.get('layers.1.self_attn.v_proj.weight')!.data;
    const [o, i] = [5, 7];
    let d = 0;
    for (let k = 0; k < 4; k++) d += B[o * 4 + k] * A[k * 12 + i];
    expect(merged.weights.get('layers.1.self_attn.v_proj.weight')!.data[o * 12 + i]).toBe(
      Math.fround(W[o * 12 + i] + 4 * d),
    );
    expect(merged.weights.get('layers.1.self_attn.k_proj.weight')).toBe(
      weights.get('layers.1.self_attn.k_proj.weight'),
    );
    expect(merged.training).toBeUndefined();
  });

  it('refuses an adapter of a base with other sizes, naming the tensor and both shapes', () => {
    const wider = parseModelConfig({ ...(LLAMA as object), hidden_size: 16, intermediate_size: 19 });
    const { files } = peftFolder(wider, 4, ['q_proj', 'v_proj'], 5);
    expect(() => adapterFromFiles(files, LLAMA)).toThrow(
      "adapter_model.safetensors: tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has shape [4,16], but the base model needs [4,12]",
    );
    // A GPT-2 adapter on a Llama base: its targets are not there.
    const gpt = adapterToFiles(tinyConfig(), lora({ r: 2, target_modules: ['c_attn'] }), gptTensors(), null);
    expect(() => adapterFromFiles(gpt, LLAMA)).toThrow(
      'adapter_config.json: LoRA target_modules [c_attn] match no linear layer of this Llama model',
    );
    const dora = peftFolder(LLAMA, 4, ['q_proj', 'v_proj'], 5, { use_dora: true }).files;
    expect(() => adapterFromFiles(dora, LLAMA)).toThrow('adapter_config.json: use_dora true: Hearth does not run DoRA');
    const prefix = peftFolder(LLAMA, 4, ['q_proj', 'v_proj'], 5, { peft_type: 'PREFIX_TUNING' }).files;
    expect(() => adapterFromFiles(prefix, LLAMA)).toThrow(CheckpointError);
    // A tensor the config does not account for (k_proj's, with target_modules q_proj and v_proj).
    const extra = peftFolder(LLAMA, 4, ['q_proj', 'k_proj', 'v_proj'], 5).files;
    expect(() => adapterFromFiles(extra, LLAMA)).toThrow(
      "tensor 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight' is not one of this adapter's",
    );
  });

  it('modules_to_save travel with the adapter under their own names', () => {
    const { files } = peftFolder(LLAMA, 2, ['q_proj'], 8, { target_modules: ['q_proj'], modules_to_save: ['lm_head'] });
    expect(() => adapterFromFiles(files, LLAMA)).toThrow("no tensor 'base_model.model.lm_head.weight'");
    const c = tinyCheckpoint().config;
    const tensors: NamedTensors = new Map([
      ...gptTensors(),
      ['wte.weight', randomTensors(new Map([['w', [13, 8]]]), 2).get('w')!],
    ]);
    const out = adapterToFiles(c, lora({ r: 2, target_modules: ['c_attn'], modules_to_save: ['wte'] }), tensors, null);
    const back = adapterFromFiles(out, c);
    expect(bitwiseEqual(back.tensors.get('wte.weight')!.data, tensors.get('wte.weight')!.data)).toBe(true);
    const header = new TextDecoder().decode(out.get(ADAPTER_WEIGHTS_FILE)!.subarray(8, 600));
    expect(header).toContain('"base_model.model.transformer.wte.weight"');
    const merged = mergeAdapter(tinyCheckpoint(), back);
    expect(merged.weights.get('wte.weight')).toBe(back.tensors.get('wte.weight'));
  });
});

function gptTensors(): NamedTensors {
  const shapes = new Map<string, number[]>();
  for (let l = 0; l < 2; l++) {
    shapes.set(`h.${l}.attn.c_attn.lora_A.weight`, [2, 8]);
    shapes.set(`h.${l}.attn.c_attn.lora_B.weight`, [24, 2]);
  }
  return randomTensors(shapes, 4);
}
