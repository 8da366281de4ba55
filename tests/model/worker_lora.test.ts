// LoRA through the worker's protocol, as the page drives it: a stored base loaded, an adapter trained on it (the
// base frozen and untouched in the store), its checkpoints stored as adapters of that base and rotated by
// save_total_limit, the adapter loaded back to generate from (base and adapter), the run resumed from it, and
// configs the page must refuse refused with the core's message.
import 'fake-indexeddb/auto';
import { describe, it, expect } from 'vitest';
import { useGpu } from '../helpers.ts';
import { Engine } from '../../src/worker/engine.ts';
import type { ReplyMessage, Requests, TrainEvent } from '../../src/worker/protocol.ts';
import { CheckpointStore } from '../../src/core/checkpoint/store.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import { DEFAULT_LORA_CONFIG, type LoraConfig } from '../../src/core/model/lora/config.ts';
import { resolveArguments } from '../../src/core/train/args.ts';
import { estimateRunMemory } from '../../src/core/train/fits.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';

const TEXT = 'the cat sat on the mat. '.repeat(20);

/** The engine behind a post function, called as the page's client calls it. */
function engine() {
  let id = 0;
  const waiting = new Map<number, { events: unknown[]; done: (m: ReplyMessage) => void }>();
  const e = new Engine((m) => {
    const w = waiting.get(m.id);
    if (!w) return;
    if (m.kind === 'event') w.events.push(m.payload);
    else w.done(m);
  });
  return async function call<K extends keyof Requests>(
    kind: K,
    payload: Requests[K]['payload'],
  ): Promise<{
    result?: Requests[K]['result'];
    error?: { code: string; message: string };
    events: Requests[K]['event'][];
  }> {
    const n = ++id;
    const events: unknown[] = [];
    const reply = await new Promise<ReplyMessage>((done) => {
      waiting.set(n, { events, done });
      e.handle({ kind, id: n, payload } as never);
    });
    waiting.delete(n);
    const events_ = events as Requests[K]['event'][];
    if (reply.kind === 'error') return { error: reply.payload, events: events_ };
    return { result: reply.payload as Requests[K]['result'], events: events_ };
  };
}

describe('LoRA in the worker', () => {
  useGpu();

  it('trains, stores, rotates, loads, generates from and resumes an adapter of a stored base', async () => {
    const tokenizer = charTokenizerFrom(TEXT);
    const config = makeGpt2Config({
      vocab_size: tokenizer.vocabSize,
      n_positions: 16,
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
    });
    const init = CausalLM.init(config, 3);
    const weights = await init.toArrays();
    init.dispose();
    const store = new CheckpointStore();
    const base = await store.save(
      { config, weights, tokenizer: { 'tokenizer.json': tokenizer.toTokenizerJson() } },
      { name: 'the base' },
    );
    const call = engine();
    expect((await call('init', {})).error).toBeUndefined();
    const loaded = await call('loadModel', { source: { kind: 'checkpoint', id: base.id } });
    const key = loaded.result!.key;

    const lora: LoraConfig = { ...DEFAULT_LORA_CONFIG, r: 2, lora_alpha: 4, target_modules: ['c_attn'] };
    const args = resolveArguments(
      {
        block_size: 8,
        per_device_train_batch_size: 2,
        max_steps: 4,
        save_steps: 2,
        save_total_limit: 1,
        logging_steps: 1,
        eval_strategy: 'no',
      },
      16,
    );
    const data = { files: [new File([TEXT], 'cat.txt')], evalFiles: [], evalFraction: 0 };

    // Refused before anything trains, with the core's words.
    const bad = await call('train', {
      runName: 'bad',
      model: { kind: 'loaded', key },
      args,
      lora: { ...lora, target_modules: ['q_proj'] },
      data,
    });
    expect(bad.error).toMatchObject({ code: 'invalid-argument' });
    expect(bad.error!.message).toContain('LoRA target_modules [q_proj] match no linear layer of this GPT-2 model');
    const tooWide = await call('train', {
      runName: 'bad',
      model: { kind: 'loaded', key },
      args,
      lora: { ...lora, r: 17 },
      data,
    });
    expect(tooWide.error!.message).toMatch(/LoRA r 17 exceeds the sides of transformer\.h\.0\.attn\.c_attn/);
    const preset = await call('train', {
      runName: 'bad',
      model: { kind: 'preset', presetId: 'tiny', tokenizer: 'gpt2' },
      args,
      lora,
      data,
    });
    expect(preset.error!.message).toContain('LoRA adapts a trained model');

    const run = await call('train', { runName: 'lora run', model: { kind: 'loaded', key }, args, lora, data });
    expect(run.error).toBeUndefined();
    expect(run.result!.step).toBe(4);
    const events = run.events as TrainEvent[];
    const started = events.find((e) => e.kind === 'started')!;
    const full = estimateRunMemory(config, args);
    if (started.kind === 'started') expect(started.run.memory.gradients).toBeLessThan(full.gradients);
    const saved = events.flatMap((e) => (e.kind === 'saved' ? [e.checkpoint] : []));
    expect(saved.map((c) => c.step)).toEqual([2, 4]);
    for (const c of saved)
      expect(c.adapter).toEqual({ r: 2, base: { kind: 'checkpoint', id: base.id, name: 'the base' } });
    // save_total_limit 1: step 2's adapter went once step 4's was stored; the base is untouched.
    const listed = await store.list();
    expect(listed.map((c) => c.name)).toEqual(['lora run step 4', 'the base']);
    const again = await store.load(base.id);
    for (const [name, t] of weights) expect(bitwiseEqual(t, again.weights.get(name)!), name).toBe(true);

    const adapter = await call('loadModel', { source: { kind: 'checkpoint', id: saved[1].id } });
    expect(adapter.result).toMatchObject({
      resumable: true,
      step: 4,
      lora: { config: { r: 2, lora_alpha: 4, target_modules: ['c_attn'] }, base: 'the base' },
    });
    const generated = await call('generate', { prompt: 'the ', options: { max_new_tokens: 4, do_sample: false } });
    expect(generated.error).toBeUndefined();
    expect(generated.result!.metadata.generatedTokens).toBe(4);

    const resumed = await call('train', {
      runName: 'ignored',
      model: { kind: 'resume', checkpointId: saved[1].id },
      args: { ...args, max_steps: 6 },
      data,
    });
    expect(resumed.error).toBeUndefined();
    expect(resumed.result!.step).toBe(6);
    const after = await store.list();
    expect(after.map((c) => c.name)).toEqual(['lora run step 6', 'the base']);
    expect(after[0].adapter?.r).toBe(2);
  });
});
