// LoRA adapters (PEFT's) on GPT-2, Llama-family, GPT-NeoX and GPT-Neo models on the GPU: the loss and the adapters'
// gradients against the float64 reference at odd sizes, with Hearth's kernels, stock tfjs ops and gradient
// checkpointing; a new adapter (B = 0) leaves the logits exactly the base's; the merged weights give the adapter's
// logits; the base stays frozen through an optimizer step; bad configs are refused with what the model has.
import { describe, it, expect } from 'vitest';
import { useGpu, rng, relError, tf } from '../helpers.ts';
import {
  expectCheckpointingAgrees,
  randomAdapter,
  randomModel,
  GPT_NEO_DIMS,
  LLAMA_GQA_DIMS,
  NEOX_PARALLEL_DIMS,
  SMALL_DIMS,
} from './models.ts';
import type { ModelDims } from '../../src/core/model/families/index.ts';
import type { RefParams } from '../../src/core/model/reference/gpt2.ts';
import { referenceLoraLossAndGrads } from '../../src/core/model/reference/lora.ts';
import { kernelOps } from '../../src/core/model/kernel_ops.ts';
import { stockOps } from '../../src/core/model/stock_ops.ts';
import { HalfWeightCache, mixedPrecisionOps } from '../../src/core/model/mixed_ops.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { DEFAULT_LORA_CONFIG, type LoraConfig } from '../../src/core/model/lora/config.ts';
import { initialLoraValues } from '../../src/core/model/lora/adapter.ts';
import { AdamW } from '../../src/core/train/optimizer.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';

const B = 2;
const T = 7;

function batch(d: ModelDims, seed: number) {
  const r = rng(seed);
  const V = 'vocab_size' in d ? d.vocab_size : 0;
  const tokens = r.ints(B * T, V);
  const targets = r.ints(B * T, V);
  targets[3] = -100;
  return { tokens, targets, B, T };
}

const lora = (o: Partial<LoraConfig>): LoraConfig => ({ ...DEFAULT_LORA_CONFIG, ...o });

const CASES: [string, ModelDims, LoraConfig][] = [
  // every Conv1D, c_fc's GELU after the adapter's sum; rank-stabilised scale
  [
    'GPT-2, all-linear, r 3, use_rslora',
    SMALL_DIMS,
    lora({ r: 3, lora_alpha: 5, target_modules: 'all-linear', use_rslora: true }),
  ],
  [
    'Llama GQA, q_proj v_proj down_proj, r 5',
    LLAMA_GQA_DIMS,
    lora({ r: 5, lora_alpha: 7, target_modules: ['q_proj', 'v_proj', 'down_proj'] }),
  ],
  // the fused per-head query_key_value, and the exact GELU after dense_h_to_4h's sum
  ['GPT-NeoX, all-linear, r 3', NEOX_PARALLEL_DIMS, lora({ r: 3, lora_alpha: 5, target_modules: 'all-linear' })],
  // the bias-free q, k and v projections beside the biased out_proj and c_fc (gelu_new after the sum)
  [
    'GPT-Neo, k_proj q_proj out_proj c_fc, r 2',
    GPT_NEO_DIMS,
    lora({ r: 2, lora_alpha: 3, target_modules: ['k_proj', 'q_proj', 'out_proj', 'c_fc'] }),
  ],
];

async function toRef(arrays: NamedTensors): Promise<RefParams> {
  return new Map([...arrays].map(([n, a]) => [n, Float64Array.from(a.data)]));
}

describe('LoRA', () => {
  useGpu();

  for (const [label, dims, config] of CASES) {
    for (const ops of [kernelOps, stockOps]) {
      it(`loss and the adapters' gradients match the float64 reference (${label}; ${ops.name})`, async () => {
        const seed = rng().seed;
        const model = randomModel(dims, seed);
        const values = randomAdapter(model, config, seed + 2);
        model.attachLora(config, { values });
        const { tokens, targets } = batch(dims, seed + 1);
        const all = await model.toArrays();
        const base = await toRef(new Map([...all].filter(([n]) => model.params.has(n))));
        const lora = model.lora!;
        const expected = referenceLoraLossAndGrads(
          dims,
          base,
          await toRef(values),
          lora.targets,
          lora.scale,
          config.r,
          tokens,
          targets,
          B,
          T,
        );
        const { loss, grads } = model.lossAndGrads(tokens, targets, B, T, { ops });
        const got = (await loss.data())[0];
        expect(
          Math.abs(got - expected.loss) / expected.loss,
          `seed ${seed}: loss ${got} vs ${expected.loss}`,
        ).toBeLessThan(1e-4);
        expect([...grads.keys()].sort()).toEqual([...expected.grads.keys()].sort());
        for (const [name, g] of grads) {
          const e = relError(await g.data(), expected.grads.get(name)!);
          expect(e, `seed ${seed}: gradient of ${name}, relative error ${e}`).toBeLessThan(1e-4);
        }
        const logits = model.forward(tokens, B, T, { ops });
        expect(relError(await logits.data(), expected.logits), `seed ${seed}: logits`).toBeLessThan(1e-4);
        tf.dispose([loss, logits, ...grads.values()]);
        model.dispose();
      });
    }

    it(`gradient checkpointing gives the plain backward's gradients, lora_dropout included (${label})`, async () => {
      const seed = rng().seed;
      const model = randomModel(dims, seed);
      const withDropout = { ...config, lora_dropout: 0.2 };
      model.attachLora(withDropout, { values: randomAdapter(model, withDropout, seed + 2) });
      await expectCheckpointingAgrees(model, batch(dims, seed + 1), seed, { dropoutSeed: 1234 });
    });

    it(`a new adapter (B = 0) leaves the logits exactly the base's, and merging gives the adapter's (${label})`, async () => {
      const seed = rng().seed;
      const model = randomModel(dims, seed);
      const { tokens } = batch(dims, seed + 1);
      const baseLogits = await model.forward(tokens, B, T).data();
      model.attachLora(config, { seed: 7 });
      expect(await model.forward(tokens, B, T).data()).toEqual(baseLogits);
      // A new adapter's A: U(−1/√in, 1/√in), B: zeros.
      for (const l of model.lora!.targets) {
        const a = await model.lora!.params.get(`${l.module}.lora_A.weight`)!.data();
        const bound = 1 / Math.sqrt(l.inFeatures);
        expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
        expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(bound / 2);
        expect([...(await model.lora!.params.get(`${l.module}.lora_B.weight`)!.data())].every((v) => v === 0)).toBe(
          true,
        );
      }
      model.dispose();

      const adapted = randomModel(dims, seed);
      adapted.attachLora(config, { values: randomAdapter(adapted, config, seed + 3) });
      const logits = await adapted.forward(tokens, B, T).data();
      const merged = CausalLM.fromArrays(dims, await adapted.mergedArrays());
      const mergedLogits = await merged.forward(tokens, B, T).data();
      expect(relError(mergedLogits, logits), `seed ${seed}: merged logits`).toBeLessThan(1e-5);
      expect(relError(mergedLogits, baseLogits)).toBeGreaterThan(1e-2); // the adapter does change the model
      adapted.dispose();
      merged.dispose();
    });
  }

  it("lora_dropout drops the adapter's input in training steps only, the same mask for both ops", async () => {
    const seed = rng().seed;
    const config = lora({ r: 2, lora_alpha: 4, lora_dropout: 0.3, target_modules: ['q_proj', 'down_proj'] });
    const model = randomModel(LLAMA_GQA_DIMS, seed);
    model.attachLora(config, { values: randomAdapter(model, config, seed + 2) });
    const { tokens, targets } = batch(LLAMA_GQA_DIMS, seed + 1);
    const lossOf = async (o: { dropoutSeed?: number; ops?: typeof kernelOps }) => {
      const l = model.loss(tokens, targets, B, T, o);
      const v = (await l.data())[0];
      l.dispose();
      return v;
    };
    const evaluation = await lossOf({});
    const trainingStep = await lossOf({ dropoutSeed: 99 });
    expect(Math.abs(trainingStep - evaluation), `seed ${seed}`).toBeGreaterThan(1e-4);
    expect(await lossOf({ dropoutSeed: 99 })).toBe(trainingStep);
    const stock = await lossOf({ dropoutSeed: 99, ops: stockOps });
    expect(Math.abs(stock - trainingStep) / trainingStep, `seed ${seed}`).toBeLessThan(1e-4);
    // Without an adapter's contribution (B = 0) the dropout changes nothing: it acts on the adapter's input alone.
    const fresh = randomModel(LLAMA_GQA_DIMS, seed);
    fresh.attachLora(config, { seed: 4 });
    const a = fresh.loss(tokens, targets, B, T, { dropoutSeed: 99 });
    const b = fresh.loss(tokens, targets, B, T);
    expect((await a.data())[0]).toBe((await b.data())[0]);
    tf.dispose([a, b]);
    fresh.dispose();
    model.dispose();
  });

  it("with f16 operands (fp16), the adapters' gradients stay near float32's", async () => {
    const seed = rng().seed;
    const config = lora({ r: 3, lora_alpha: 6, target_modules: 'all-linear' });
    const model = randomModel(SMALL_DIMS, seed);
    model.attachLora(config, { values: randomAdapter(model, config, seed + 2) });
    const { tokens, targets } = batch(SMALL_DIMS, seed + 1);
    const cache = new HalfWeightCache();
    const f32 = model.lossAndGrads(tokens, targets, B, T);
    const f16 = model.lossAndGrads(tokens, targets, B, T, { ops: mixedPrecisionOps(cache) });
    expect(cache.size).toBeGreaterThan(0);
    for (const [name, g] of f32.grads) {
      const e = relError(await f16.grads.get(name)!.data(), await g.data());
      expect(e, `seed ${seed}: ${name}`).toBeLessThan(5e-2);
    }
    tf.dispose([f32.loss, f16.loss, ...f32.grads.values(), ...f16.grads.values()]);
    cache.clear();
    model.dispose();
  });

  it('trains the adapter alone: the base is frozen through an AdamW step', async () => {
    const dims = SMALL_DIMS;
    const model = randomModel(dims, 5);
    model.attachLora(lora({ r: 2, lora_alpha: 4, target_modules: ['c_attn', 'c_fc'] }), { seed: 3 });
    expect([...model.trainable.keys()]).toEqual([
      'h.0.attn.c_attn.lora_A.weight',
      'h.0.attn.c_attn.lora_B.weight',
      'h.0.mlp.c_fc.lora_A.weight',
      'h.0.mlp.c_fc.lora_B.weight',
      'h.1.attn.c_attn.lora_A.weight',
      'h.1.attn.c_attn.lora_B.weight',
      'h.1.mlp.c_fc.lora_A.weight',
      'h.1.mlp.c_fc.lora_B.weight',
    ]);
    expect([...model.params.values()].every((v) => !v.trainable)).toBe(true);
    const before = await model.toArrays();
    const optimizer = new AdamW(model.trainable, { weightDecay: 0.1 });
    const { tokens, targets } = batch(dims, 9);
    const { loss, grads } = model.lossAndGrads(tokens, targets, B, T);
    tf.dispose(optimizer.apply(grads, 1e-2));
    const after = await model.toArrays();
    for (const name of model.params.keys()) expect(after.get(name)!.data, name).toEqual(before.get(name)!.data);
    for (const name of model.trainable.keys()) {
      if (name.endsWith('lora_B.weight'))
        expect(
          after.get(name)!.data.some((v) => v !== 0),
          name,
        ).toBe(true);
    }
    tf.dispose([loss, ...grads.values()]);
    optimizer.dispose();
    model.dispose();
  });

  it('refuses targets that match nothing, naming the linear layers there are, and a rank above a side', () => {
    const gpt = CausalLM.init(SMALL_DIMS, 1);
    expect(() => gpt.attachLora(lora({ target_modules: ['q_proj', 'v_proj'] }))).toThrow(
      'LoRA target_modules [q_proj, v_proj] match no linear layer of this GPT-2 model; its linear layers are c_attn, c_proj, c_fc (e.g. transformer.h.0.attn.c_attn)',
    );
    expect(() => gpt.attachLora(lora({ r: 13, target_modules: ['c_proj'] }))).toThrow(
      'LoRA r 13 exceeds the sides of transformer.h.0.attn.c_proj (12 in, 12 out): r must be at most 12',
    );
    expect(() => gpt.attachLora(lora({ r: 0 }))).toThrow('LoRA r must be a whole number above 0, got 0');
    expect(gpt.lora).toBeNull();
    gpt.dispose();
    const llama = CausalLM.init(LLAMA_GQA_DIMS, 1);
    expect(() => llama.attachLora(lora({ target_modules: 'c_attn' }))).toThrow(
      'its linear layers are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (e.g. model.layers.0.self_attn.q_proj)',
    );
    // PEFT's default for Llama (q_proj, v_proj), matched as full names; a regular expression must match a whole name.
    llama.attachLora(lora({ target_modules: null }));
    expect(llama.lora!.targets.map((l) => l.module)).toEqual([
      'layers.0.self_attn.q_proj',
      'layers.0.self_attn.v_proj',
      'layers.1.self_attn.q_proj',
      'layers.1.self_attn.v_proj',
    ]);
    llama.dispose();
    // PEFT's defaults for GPT-NeoX (the fused query_key_value) and GPT-Neo (q_proj, v_proj)
    const neox = CausalLM.init(NEOX_PARALLEL_DIMS, 1);
    neox.attachLora(lora({ target_modules: null }));
    expect(neox.lora!.targets.map((l) => l.module)).toEqual([
      'layers.0.attention.query_key_value',
      'layers.1.attention.query_key_value',
    ]);
    neox.dispose();
    const neo = CausalLM.init(GPT_NEO_DIMS, 1);
    neo.attachLora(lora({ r: 2, target_modules: null }));
    expect(neo.lora!.targets.map((l) => l.module)).toEqual([
      'h.0.attn.attention.v_proj',
      'h.0.attn.attention.q_proj',
      'h.1.attn.attention.v_proj',
      'h.1.attn.attention.q_proj',
    ]);
    neo.dispose();
    const regex = CausalLM.init(LLAMA_GQA_DIMS, 1);
    regex.attachLora(lora({ target_modules: 'model\\.layers\\.1\\..*_proj', modules_to_save: ['lm_head'] }));
    expect(regex.lora!.targets.map((l) => l.module.split('.').pop())).toEqual([
      'q_proj',
      'k_proj',
      'v_proj',
      'o_proj',
      'gate_proj',
      'up_proj',
      'down_proj',
    ]);
    expect(regex.lora!.targets.every((l) => l.layer === 1)).toBe(true);
    expect([...regex.trainable.keys()]).toContain('lm_head.weight');
    regex.dispose();
    expect(initialLoraValues([], 4, 1).size).toBe(0);
  });
});
