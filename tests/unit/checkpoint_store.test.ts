// The IndexedDB store (fake-indexeddb in Node): atomic saves, rotation, quota, and a table of
// malformed imports that must each be refused with its message and leave the store as it was.
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { checkpointFromZip } from '../../src/core/checkpoint/archive.ts';
import { CheckpointError } from '../../src/core/checkpoint/errors.ts';
import { checkpointContentHash } from '../../src/core/checkpoint/content_hash.ts';
import { checkpointToFiles, type CheckpointFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { writeSafetensors } from '../../src/core/checkpoint/safetensors.ts';
import {
  CheckpointStore,
  idbBackend,
  type KeyValueBackend,
  type StorageLike,
} from '../../src/core/checkpoint/store.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import type { HostTensor } from '../../src/core/model/host_tensors.ts';
import { crc32 } from '../../src/core/checkpoint/zip.ts';
import { concatBytes } from '../../src/core/util/bytes.ts';
import { withPytorchFiles } from '../../src/core/train/pytorch_script.ts';
import { bf16Bits, bf16Value } from './hf_fixtures.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';
import { adapterToFiles } from '../../src/core/checkpoint/peft_adapter.ts';
import { familyLabel, familyOf } from '../../src/core/model/families/index.ts';
import { initialLoraValues } from '../../src/core/model/lora/adapter.ts';
import { DEFAULT_LORA_CONFIG, resolveTargets, type LoraConfig } from '../../src/core/model/lora/config.ts';

let dbCount = 0;
const freshBackend = () => idbBackend(`hearth-test-${dbCount++}`);

/** Everything in the store: keys, manifest, and a checksum of every stored value. */
async function snapshot(backend: KeyValueBackend): Promise<string> {
  const keys = (await backend.keys()).sort();
  const values = await backend.getMany<unknown>(keys);
  return JSON.stringify(
    keys.map((k, i) => [k, values[i] instanceof Uint8Array ? crc32(values[i] as Uint8Array) : values[i]]),
  );
}

function expectSameWeights(a: Map<string, HostTensor>, b: Map<string, HostTensor>) {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, t] of a) expect(bitwiseEqual(t, b.get(name)!), name).toBe(true);
}

describe('checkpoint store', () => {
  it('saves, lists, loads bit for bit, renames, exports and deletes', async () => {
    const store = new CheckpointStore(freshBackend(), { storage: null, chunkBytes: 1000 });
    const ckpt = tinyCheckpoint({ training: true });
    const saved = await store.save(ckpt, { name: 'tiny', run: 'r1' });
    expect(saved).toMatchObject({
      name: 'tiny',
      run: 'r1',
      step: 40,
      evalLoss: 2.75,
      resumable: true,
      model: {
        n_layer: 2,
        n_embd: 8,
        parameters: 2 * (4 * 8 + 8 * 24 + 24 + 64 + 8 + 8 * 32 + 32 + 32 * 8 + 8) + 13 * 8 + 9 * 8 + 16,
      },
    });
    expect(saved.files.find((f) => f.name === 'optimizer.safetensors')!.chunks).toBeGreaterThan(1);
    expect((await store.list()).map((c) => c.id)).toEqual([saved.id]);

    const back = await store.load(saved.id);
    expectSameWeights(back.weights, ckpt.weights);
    expectSameWeights(back.training!.optimizer!.expAvgSq, ckpt.training!.optimizer!.expAvgSq);
    expect(back.training!.dataPosition).toEqual(ckpt.training!.dataPosition);

    await store.rename(saved.id, 'renamed');
    expect((await store.list())[0].name).toBe('renamed');
    const { fileName, chunks } = await store.exportZip(saved.id, withPytorchFiles);
    expect(fileName).toBe('renamed.zip');
    expectSameWeights(checkpointFromZip(concatBytes(chunks)).weights, ckpt.weights);
    // the zip carries train.py, written with the arguments the run recorded, to go on in PyTorch
    const script = unzipSync(concatBytes(chunks))['renamed/train.py'];
    expect(new TextDecoder().decode(script)).toContain('    learning_rate=0.0006,');
    // In bfloat16: the model alone, each weight rounded to the nearest bfloat16, train.py still from the run's record.
    const half = await store.exportZip(saved.id, withPytorchFiles, { weightsDtype: 'BF16' });
    expect(half.fileName).toBe('renamed-bfloat16.zip');
    const halfCkpt = checkpointFromZip(concatBytes(half.chunks));
    expect(halfCkpt.training).toBeUndefined();
    expect(halfCkpt.config.torch_dtype).toBe('bfloat16');
    for (const [name, t] of ckpt.weights)
      expect([...halfCkpt.weights.get(name)!.data], name).toEqual([...t.data].map((x) => bf16Value(bf16Bits(x))));
    const halfScript = unzipSync(concatBytes(half.chunks))['renamed/train.py'];
    expect(new TextDecoder().decode(halfScript)).toContain('    learning_rate=0.0006,');

    await store.delete(saved.id);
    expect(await store.list()).toEqual([]);
    expect(
      (await (store as unknown as { backend: KeyValueBackend }).backend.keys()).filter((k) => k.startsWith('part:')),
    ).toEqual([]);
    await expect(store.delete(saved.id)).rejects.toThrow(/no checkpoint with id/);
  });

  it('keeps the newest save_total_limit checkpoints of a run, other runs untouched', async () => {
    let now = 1000;
    const store = new CheckpointStore(freshBackend(), { storage: null, now: () => now++ });
    const other = await store.save(tinyCheckpoint(), { name: 'other run', run: 'b' });
    const ids: string[] = [];
    for (let step = 1; step <= 4; step++) {
      const ckpt = tinyCheckpoint({ training: true });
      ckpt.training!.step = step;
      ids.push((await store.save(ckpt, { name: `step ${step}`, run: 'a', saveTotalLimit: 2 })).id);
    }
    expect((await store.list()).map((c) => c.id)).toEqual([ids[3], ids[2], other.id]);
    // Rotation without a run could delete imports and other runs: refused before writing.
    await expect(store.save(tinyCheckpoint(), { name: 'x', saveTotalLimit: 1 })).rejects.toThrow(
      /saveTotalLimit needs a run name/,
    );
    expect(await store.list()).toHaveLength(3);
  });

  it('stores LoRA adapters with their base, rotates them by save_total_limit, exports PEFT files or the merged model', async () => {
    let now = 1000;
    const store = new CheckpointStore(freshBackend(), { storage: null, now: () => now++ });
    const baseCkpt = tinyCheckpoint({ seed: 5 });
    const base = await store.save(baseCkpt, { name: 'the base' });
    const lora: LoraConfig = { ...DEFAULT_LORA_CONFIG, r: 2, lora_alpha: 4, target_modules: ['c_attn'] };
    const targets = resolveTargets(familyOf(baseCkpt.config), baseCkpt.config, lora);
    const values = initialLoraValues(targets, lora.r, 9);
    // lora_B as training leaves it (not zero), so that merging changes c_attn.
    for (const [name, t] of values) if (name.includes('lora_B')) t.data.forEach((_, i) => (t.data[i] = 0.01 * (i % 7)));
    const ids: string[] = [];
    for (let step = 1; step <= 3; step++) {
      const files = adapterToFiles(baseCkpt.config, lora, values, 'the base');
      const o = { config: baseCkpt.config, step, evalLoss: null, r: 2 };
      const saved = await store.saveAdapter(
        files,
        { ...o, base: { kind: 'checkpoint', id: base.id, name: 'the base' } },
        {
          name: `lora step ${step}`,
          run: 'lora',
          saveTotalLimit: 2,
        },
      );
      expect(saved).toMatchObject({
        step,
        resumable: true,
        adapter: { r: 2, base: { kind: 'checkpoint', id: base.id } },
      });
      ids.push(saved.id);
    }
    expect((await store.list()).map((c) => c.id)).toEqual([ids[2], ids[1], base.id]);
    await expect(store.load(ids[2])).rejects.toThrow(
      '"lora step 3" is a LoRA adapter (r=2) of the base, not a whole model: use it with its base',
    );
    const zip = await store.exportZip(ids[2]);
    expect(zip.fileName).toBe('lora-step-3.zip');
    const inZip = Object.keys(unzipSync(concatBytes(zip.chunks))).sort();
    expect(inZip).toEqual(['lora-step-3/adapter_config.json', 'lora-step-3/adapter_model.safetensors']);
    const merged = await store.exportMergedZip(ids[2], await store.load(base.id));
    const full = checkpointFromZip(concatBytes(merged.chunks));
    for (const [name, w] of baseCkpt.weights) {
      const same = bitwiseEqual(w, full.weights.get(name)!);
      expect(same, name).toBe(!name.endsWith('c_attn.weight'));
    }
  });

  it('keeps the best by eval loss when asked, as HF does (limit 1 keeps two)', async () => {
    for (const [limit, expected] of [
      [2, ['step 4', 'step 2']],
      [1, ['step 4', 'step 2']],
      [3, ['step 4', 'step 3', 'step 2']],
    ] as const) {
      let now = 0;
      const store = new CheckpointStore(freshBackend(), { storage: null, now: () => now++ });
      const losses = [3, 1, 2, 4];
      for (let step = 1; step <= 4; step++) {
        const ckpt = tinyCheckpoint();
        await store.save(ckpt, {
          name: `step ${step}`,
          run: 'a',
          evalLoss: losses[step - 1],
          saveTotalLimit: limit,
          keepBest: true,
        });
      }
      expect((await store.list()).map((c) => c.name)).toEqual(expected);
    }
  });

  it('a write failing halfway leaves the earlier checkpoints whole and listed', async () => {
    const backend = freshBackend();
    let failAfter = Infinity;
    let partWrites = 0;
    const failing: KeyValueBackend = {
      ...backend,
      set: async (key, value) => {
        if (key.startsWith('part:') && ++partWrites > failAfter)
          throw new DOMException('disk I/O error', 'UnknownError');
        return backend.set(key, value);
      },
    };
    const store = new CheckpointStore(failing, { storage: null, chunkBytes: 2000 });
    const first = tinyCheckpoint({ seed: 1, training: true });
    const second = tinyCheckpoint({ seed: 2, training: true });
    await store.save(first, { name: 'first', run: 'a' });
    await store.save(second, { name: 'second', run: 'a' });
    const before = await snapshot(backend);

    partWrites = 0;
    failAfter = 5; // the sixth chunk of the third checkpoint fails
    await expect(
      store.save(tinyCheckpoint({ seed: 3, training: true }), { name: 'third', run: 'a', saveTotalLimit: 1 }),
    ).rejects.toThrow(/saving "third" failed \(disk I\/O error\); the earlier checkpoints are untouched/);
    expect(await snapshot(backend)).toBe(before); // its parts were removed, nothing else touched
    const list = await store.list();
    expect(list.map((c) => c.name)).toEqual(['second', 'first']);
    expectSameWeights((await store.load(list[0].id)).weights, second.weights);
    expectSameWeights((await store.load(list[1].id)).weights, first.weights);
  });

  it('a save cut off with no chance to clean up (tab closed) stays unlisted and is swept later', async () => {
    const backend = freshBackend();
    let now = 0;
    let closed = false;
    const closing: KeyValueBackend = {
      ...backend,
      // The tab dies before the manifest is written: no manifest update, no cleanup.
      update: async (key, fn) => (closed ? Promise.reject(new Error('tab closed')) : backend.update(key, fn)),
      transact: async (body) => (closed ? Promise.reject(new Error('tab closed')) : backend.transact(body)),
      delMany: async (keys) => (closed ? Promise.reject(new Error('tab closed')) : backend.delMany(keys)),
    };
    const store = new CheckpointStore(closing, { storage: null, now: () => now });
    const kept = await store.save(tinyCheckpoint({ seed: 1 }), { name: 'kept' });
    const before = await snapshot(backend);
    closed = true;
    await expect(store.save(tinyCheckpoint({ seed: 2 }), { name: 'lost' })).rejects.toThrow(/saving "lost" failed/);
    closed = false;
    expect((await store.list()).map((c) => c.name)).toEqual(['kept']);
    expect(await store.sweep()).toBe(0); // a recent unlisted save may still be running in another tab
    now += 2 * 60 * 60 * 1000;
    expect(await store.sweep()).toBeGreaterThan(0);
    expect(await snapshot(backend)).toBe(before);
    expectSameWeights((await store.load(kept.id)).weights, tinyCheckpoint({ seed: 1 }).weights);
  });

  it('refuses a save that would not fit before writing anything, and asks for persistence', async () => {
    const backend = freshBackend();
    let persisted = false;
    const storage: StorageLike = {
      estimate: async () => ({ usage: 100 * 1024 ** 2, quota: 102 * 1024 ** 2 }),
      persisted: async () => persisted,
      persist: async () => (persisted = true),
    };
    const store = new CheckpointStore(backend, { storage });
    const before = await snapshot(backend);
    const error = await store.save(tinyCheckpoint(), { name: 'big' }).catch((e) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('quota');
    expect(error.message).toMatch(
      /not enough browser storage: this checkpoint needs 0.0 MiB and 2.0 MiB is free. Nothing was written/,
    );
    expect(await snapshot(backend)).toBe(before);
    expect(await store.requestPersistence()).toBe(true);
    expect(persisted).toBe(true);
  });
});

// ---- malformed imports ----

const enc = new TextEncoder();

function zipOf(files: CheckpointFiles, extra: Record<string, Uint8Array> = {}): Uint8Array {
  return zipSync({ ...Object.fromEntries(files), ...extra });
}

function goodFiles(): CheckpointFiles {
  return checkpointToFiles(tinyCheckpoint({ training: true }));
}

/** Edits the JSON header of model.safetensors, keeping its data. */
function editWeightsHeader(files: CheckpointFiles, edit: (header: string) => string): CheckpointFiles {
  const bytes = files.get('model.safetensors')!;
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = enc.encode(edit(new TextDecoder().decode(bytes.subarray(8, 8 + len)).trimEnd()));
  const out = new Uint8Array(8 + header.length + bytes.length - 8 - len);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(bytes.subarray(8 + len), 8 + header.length);
  return new Map([...files, ['model.safetensors', out]]);
}

function editEntry(files: CheckpointFiles, name: string, edit: (e: Record<string, unknown>) => void): CheckpointFiles {
  return editWeightsHeader(files, (text) => {
    const header = JSON.parse(text);
    edit(header[name]);
    return JSON.stringify(header);
  });
}

function withWeights(files: CheckpointFiles, change: (w: Map<string, HostTensor>) => void): CheckpointFiles {
  const weights = new Map(tinyCheckpoint({ training: true }).weights);
  change(weights);
  return new Map([...files, ['model.safetensors', writeSafetensors(weights)]]);
}

/** Rewrites the sizes an entry declares in both zip headers (fflate's zipSync writes no descriptors). */
function lieAboutSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  for (let p = 0; p + 46 < out.length; p++) {
    if (view.getUint32(p, true) !== 0x02014b50) continue;
    const nameLen = view.getUint16(p + 28, true);
    if (new TextDecoder().decode(out.subarray(p + 46, p + 46 + nameLen)) !== name) continue;
    view.setUint32(p + 24, size, true);
    view.setUint32(view.getUint32(p + 42, true) + 22, size, true);
    return out;
  }
  throw new Error(`no entry ${name}`);
}

const MALFORMED: [string, () => Uint8Array, RegExp][] = [
  [
    'truncated zip',
    () => zipOf(goodFiles()).subarray(0, 3000),
    /not a zip archive \(no end-of-archive record; truncated\?\)/,
  ],
  [
    'truncated weights',
    () => {
      const files = goodFiles();
      const w = files.get('model.safetensors')!;
      return zipOf(new Map([...files, ['model.safetensors', w.subarray(0, w.length - 100)]]));
    },
    /model\.safetensors: tensor "[\w.]+": data_offsets \[\d+, \d+\] run past the end of the data section/,
  ],
  [
    'header length past the end',
    () => {
      const files = goodFiles();
      const w = files.get('model.safetensors')!.slice();
      new DataView(w.buffer).setUint32(0, 99_000_000, true);
      return zipOf(new Map([...files, ['model.safetensors', w]]));
    },
    /model\.safetensors: header length 99000000 runs past the end of the file/,
  ],
  [
    'non-JSON header',
    () => zipOf(editWeightsHeader(goodFiles(), (t) => t.replace('"dtype":', '"dtype" '))),
    /model\.safetensors: header is not valid JSON/,
  ],
  [
    'overlapping offsets',
    () =>
      zipOf(
        editWeightsHeader(goodFiles(), (text) => {
          const h = JSON.parse(text);
          h['h.0.ln_1.bias'].data_offsets = h['h.0.ln_1.weight'].data_offsets;
          return JSON.stringify(h);
        }),
      ),
    /model\.safetensors: tensors "h\.0\.ln_1\.(weight|bias)" and "h\.0\.ln_1\.(weight|bias)" overlap/,
  ],
  [
    'wrong shape',
    () => zipOf(editEntry(goodFiles(), 'h.1.attn.c_attn.weight', (e) => (e.shape = [24, 8]))),
    /model\.safetensors: tensor "h\.1\.attn\.c_attn\.weight" has shape \(24, 8\) but config\.json implies \(8, 24\) \(wrong shape\)/,
  ],
  [
    'unknown dtype',
    () => zipOf(editEntry(goodFiles(), 'wpe.weight', (e) => (e.dtype = 'Q4_K'))),
    /model\.safetensors: tensor "wpe\.weight": unknown dtype "Q4_K"/,
  ],
  [
    'duplicate tensor names',
    () =>
      zipOf(
        editWeightsHeader(goodFiles(), (text) => {
          const h = JSON.parse(text);
          return text.slice(0, -1) + `,"ln_f.bias":${JSON.stringify(h['ln_f.bias'])}}`;
        }),
      ),
    /model\.safetensors: header is not valid JSON \(duplicate key "ln_f\.bias"/,
  ],
  [
    'NaN values',
    () =>
      zipOf(
        withWeights(goodFiles(), (w) => {
          const t = w.get('h.1.mlp.c_proj.weight')!;
          const data = t.data.slice();
          data[17] = NaN;
          w.set('h.1.mlp.c_proj.weight', { shape: t.shape, data });
        }),
      ),
    /model\.safetensors: tensor "h\.1\.mlp\.c_proj\.weight" holds NaN at element 17; refusing weights that are not finite numbers/,
  ],
  // Declared sizes are checked before anything is inflated (so this one needs no 40 MiB to build).
  [
    'zip bomb (declared sizes over the limit)',
    () =>
      lieAboutSize(
        zipOf(goodFiles(), { 'tokenizer_config.json': new Uint8Array(1000) }),
        'tokenizer_config.json',
        40 * 1024 ** 2,
      ),
    /zip: the archive would unpack to 40\.\d MiB, over the 16\.0 MiB limit/,
  ],
  [
    'zip bomb (an entry lying about its size)',
    () =>
      lieAboutSize(
        zipOf(goodFiles(), { 'tokenizer_config.json': new Uint8Array(4 * 1024 ** 2) }),
        'tokenizer_config.json',
        1000,
      ),
    /zip: "tokenizer_config\.json" inflates past its declared 0\.0 MiB; refusing the archive \(zip bomb\?\)/,
  ],
  [
    'corrupted zip data',
    () => {
      const zip = zipOf(goodFiles());
      const at = zip.length - 400; // inside the last entry's data, before the central directory
      return zip.map((b, i) => (i >= at - 40 && i < at ? b ^ 0x5a : b));
    },
    /zip: "[^"]+" is damaged/,
  ],
  [
    'two checkpoints in one zip',
    () => zipSync({ a: Object.fromEntries(goodFiles()), b: Object.fromEntries(goodFiles()) }),
    /two files named config\.json/,
  ],
  [
    'another architecture',
    () =>
      zipOf(
        new Map([
          ...goodFiles(),
          ['config.json', enc.encode('{"model_type": "falcon", "architectures": ["FalconForCausalLM"]}')],
        ]),
      ),
    /model_type "falcon"; Hearth runs GPT-2 models \(model_type "gpt2"\), Llama models \(model_type "llama"\), Mistral models \(model_type "mistral"\), Qwen2 models \(model_type "qwen2"\), GPT-NeoX models \(model_type "gpt_neox"\)/,
  ],
  [
    'untied lm_head',
    () =>
      zipOf(withWeights(goodFiles(), (w) => w.set('lm_head.weight', { shape: [13, 8], data: new Float32Array(104) }))),
    /lm_head\.weight differs from wte\.weight/,
  ],
  [
    'missing tensor',
    () => zipOf(withWeights(goodFiles(), (w) => w.delete('h.1.ln_2.bias'))),
    /missing tensor "h\.1\.ln_2\.bias" that config\.json implies/,
  ],
  [
    'tensors beyond the config',
    () => zipOf(withWeights(goodFiles(), (w) => w.set('h.2.ln_1.weight', { shape: [8], data: new Float32Array(8) }))),
    /tensor "h\.2\.ln_1\.weight" are not GPT-2 parameters/,
  ],
  [
    'PyTorch weights only',
    () => {
      const files = goodFiles();
      files.delete('model.safetensors');
      return zipOf(files, { 'pytorch_model.bin': new Uint8Array(10) });
    },
    /pytorch_model\.bin but no model\.safetensors/,
  ],
  [
    'no tokenizer',
    () => {
      const files = goodFiles();
      files.delete('tokenizer.json');
      return zipOf(files);
    },
    /no tokenizer: expected tokenizer\.json, or vocab\.json and merges\.txt/,
  ],
  [
    'optimizer moments of the wrong shape',
    () => {
      const files = goodFiles();
      const state = tinyCheckpoint({ training: true }).training!.optimizer!;
      const entries: [string, HostTensor][] = [...state.expAvg].map(([n, t]) => ['exp_avg.' + n, t]);
      entries.push(
        ...[...state.expAvgSq].map(([n, t]): [string, HostTensor] => [
          'exp_avg_sq.' + n,
          n === 'wpe.weight' ? { shape: [8, 9], data: t.data } : t,
        ]),
      );
      return zipOf(new Map([...files, ['optimizer.safetensors', writeSafetensors(entries)]]));
    },
    /optimizer\.safetensors: exp_avg_sq of "wpe\.weight" has shape \(8, 9\), the parameter \(9, 8\)/,
  ],
  [
    'training state from a newer Hearth',
    () => {
      const files = goodFiles();
      const state = JSON.parse(new TextDecoder().decode(files.get('hearth_state.json')));
      return zipOf(new Map([...files, ['hearth_state.json', enc.encode(JSON.stringify({ ...state, version: 2 }))]]));
    },
    /hearth_state\.json: format version 2 was written by a newer Hearth/,
  ],
];

describe('malformed imports are refused and leave the store unchanged', () => {
  it('imports a good zip (the baseline for the table)', async () => {
    const store = new CheckpointStore(freshBackend(), { storage: null });
    const saved = await store.importZip(zipOf(goodFiles()), { name: 'good', maxTotalBytes: 16 * 1024 ** 2 });
    expect(saved.resumable).toBe(true);
    expectSameWeights((await store.load(saved.id)).weights, tinyCheckpoint().weights);
  });

  it.each(MALFORMED)('%s', async (_label, make, message) => {
    const backend = freshBackend();
    const store = new CheckpointStore(backend, { storage: null });
    await store.save(tinyCheckpoint({ seed: 7 }), { name: 'existing' });
    const before = await snapshot(backend);
    const error = await store.importZip(make(), { name: 'bad', maxTotalBytes: 16 * 1024 ** 2 }).then(
      () => null,
      (e) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(message);
    expect(await snapshot(backend)).toBe(before);
  });
});

describe('importing the same files twice', () => {
  it('stores them once, and says so the second time, whatever order the files come in', async () => {
    const backend = freshBackend();
    const store = new CheckpointStore(backend, { storage: null });
    const files = goodFiles();
    const first = await store.importOnce(files, { name: 'first' });
    expect(first.duplicate).toBe(false);
    expect(first.entry.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.entry.model.model_type).toBe('gpt2');
    const before = await snapshot(backend);
    const again = await store.importOnce(new Map([...files].reverse()), { name: 'second' });
    expect(again).toEqual({ entry: first.entry, duplicate: true });
    expect(await snapshot(backend)).toBe(before);
    // One byte different is another checkpoint.
    const changed = new Map(files);
    const config = files.get('config.json')!;
    changed.set('config.json', concatBytes([config, new TextEncoder().encode(' ')]));
    const other = await store.importOnce(changed, { name: 'other' });
    expect(other.duplicate).toBe(false);
    expect(other.entry.contentHash).not.toBe(first.entry.contentHash);
    expect((await store.list()).map((c) => c.name).sort()).toEqual(['first', 'other']);
  });

  it('hashes each file with SHA-256, then the sorted list of names and digests', async () => {
    const files: CheckpointFiles = new Map([
      ['config.json', new TextEncoder().encode('{}')],
      ['model.safetensors', new Uint8Array([1, 2, 3])],
    ]);
    const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
    const lines = [...files].map(([name, bytes]) => `${name}\0${sha(bytes)}\n`).sort();
    expect(await checkpointContentHash(files)).toBe(sha(lines.join('')));
  });
});

describe('the family of a model, for people', () => {
  it('names each family by its model_type, GPT-2 when there is none', () => {
    expect(familyLabel(undefined)).toBe('GPT-2');
    expect(familyLabel('gpt2')).toBe('GPT-2');
    expect(familyLabel('llama')).toBe('Llama');
    expect(familyLabel('qwen2')).toBe('Qwen2');
    expect(familyLabel('gpt_neox')).toBe('GPT-NeoX');
    expect(familyLabel('gpt_neo')).toBe('GPT-Neo');
    expect(familyLabel('falcon')).toBe('falcon');
  });
});
