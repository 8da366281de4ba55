// Weights as Hugging Face writes them: F32, F16 and BF16 files, sharded checkpoints (an index and its shards) in a
// file map, a folder, a zip and a drop; exports in a chosen dtype and sharded at a limit; and configs whose sizes would
// have the loader build in proportion to a number a tiny file makes up.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkpointFilesFromDrop, checkpointFromZip } from '../../src/core/checkpoint/archive.ts';
import { CheckpointError } from '../../src/core/checkpoint/errors.ts';
import { halfToFloat, floatToHalf } from '../../src/core/checkpoint/float16.ts';
import { checkpointFromFiles, checkpointToFiles, type CheckpointFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { readCheckpointFolder } from '../../src/core/checkpoint/node_folder.ts';
import { parseSafetensorsHeader } from '../../src/core/checkpoint/safetensors.ts';
import { parseShardSize } from '../../src/core/checkpoint/shards.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { gpt2 } from '../../src/core/model/families/gpt2.ts';
import { modelConfigToJson } from '../../src/core/model/families/index.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { TOKENIZER_JSON, tinyCheckpoint, tinyConfig } from './checkpoint_fixtures.ts';
import { bf16Bits, bf16Value, hfSafetensors, hfWeightFiles, rawTensor, type HfDtype } from './hf_fixtures.ts';

const encode = (s: string) => new TextEncoder().encode(s);
const decodeJson = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

/** A Hugging Face folder for the tiny GPT-2: config.json, tokenizer.json and the given weight files. */
function folder(weightFiles: Map<string, Uint8Array>, config: Record<string, unknown> = {}): CheckpointFiles {
  const files: CheckpointFiles = new Map();
  files.set('config.json', encode(JSON.stringify({ ...JSON.parse(modelConfigToJson(tinyConfig())), ...config })));
  files.set('tokenizer.json', encode(TOKENIZER_JSON));
  for (const [name, bytes] of weightFiles) files.set(name, bytes);
  return files;
}

/** Each weight as `round` rounds its values. */
function rounded(weights: NamedTensors, round: (x: number) => number): NamedTensors {
  return new Map([...weights].map(([n, t]) => [n, { shape: t.shape, data: t.data.map(round) }]));
}

function expectBitwise(got: NamedTensors, want: NamedTensors) {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [name, t] of want) expect(bitwiseEqual(got.get(name)!, t), name).toBe(true);
}

function refusal(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected a refusal');
}

const { weights } = tinyCheckpoint({ seed: 7 });
const toBF16 = (x: number) => bf16Value(bf16Bits(x));
const toF16 = (x: number) => halfToFloat(floatToHalf(x));

describe('weights in F32, F16 and BF16, as save_pretrained writes them', () => {
  it.each<[HfDtype, (x: number) => number]>([
    ['F32', (x) => x],
    ['BF16', toBF16],
    ['F16', toF16],
  ])('reads %s to float32 exactly', (dtype, round) => {
    const ckpt = checkpointFromFiles(folder(hfWeightFiles(weights, dtype), { torch_dtype: 'bfloat16' }));
    expectBitwise(ckpt.weights, rounded(weights, round));
  });

  it('refuses any other dtype, naming the file and the tensor', () => {
    for (const dtype of ['I32', 'U8', 'F8_E4M3', 'BOOL']) {
      const tensors = new Map(
        [...weights].map(([n, t]) => [`transformer.${n}`, rawTensor(t.data, t.shape, 'F32')] as const),
      );
      const ln = weights.get('h.1.ln_2.bias')!;
      const size = dtype === 'I32' ? 4 : 1;
      tensors.set('transformer.h.1.ln_2.bias', {
        dtype,
        shape: ln.shape,
        bytes: new Uint8Array(ln.data.length * size),
      });
      const files = folder(new Map([['model.safetensors', hfSafetensors(tensors)]]));
      expect(refusal(() => checkpointFromFiles(files)).message).toContain(
        `model.safetensors: tensor "transformer.h.1.ln_2.bias" has dtype ${dtype}`,
      );
    }
  });
});

describe('sharded checkpoints', () => {
  const shardedFiles = (dtype: HfDtype = 'F32') => hfWeightFiles(weights, dtype, 1500);
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = '';
  });

  it('reads an index and its shards, in F32 and in BF16', () => {
    const files = shardedFiles();
    expect([...files.keys()].filter((n) => n.endsWith('.safetensors')).length).toBeGreaterThan(3);
    expectBitwise(checkpointFromFiles(folder(files)).weights, weights);
    expectBitwise(checkpointFromFiles(folder(shardedFiles('BF16'))).weights, rounded(weights, toBF16));
  });

  it('reads them from a folder on disk, a zip and a drop of loose files', async () => {
    const files = folder(shardedFiles());
    dir = await mkdtemp(join(tmpdir(), 'hearth-shards-'));
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
    await writeFile(join(dir, 'README.md'), 'a model card');
    expectBitwise(checkpointFromFiles(await readCheckpointFolder(dir)).weights, weights);

    const zip = zipSync(Object.fromEntries([...files].map(([name, bytes]) => [`tiny/${name}`, bytes])));
    expectBitwise(checkpointFromZip(zip).weights, weights);

    const dropped = [...files].map(([name, bytes]) => ({
      name,
      webkitRelativePath: `tiny/${name}`,
      arrayBuffer: async () => bytes.slice().buffer,
    }));
    expectBitwise(checkpointFromFiles(await checkpointFilesFromDrop(dropped)).weights, weights);
  });

  /** The sharded folder with `change` made to its weight files. */
  const broken = (change: (files: Map<string, Uint8Array>, index: Record<string, unknown>) => void) => {
    const files = shardedFiles();
    const index = decodeJson(files.get('model.safetensors.index.json')!);
    change(files, index);
    files.set('model.safetensors.index.json', encode(JSON.stringify(index)));
    return folder(files);
  };
  const shardOf = (index: Record<string, unknown>, tensor: string) =>
    (index.weight_map as Record<string, string>)[tensor];

  it.each<[string, (files: Map<string, Uint8Array>, index: Record<string, unknown>) => void, RegExp]>([
    [
      'a shard missing',
      (files) => files.delete('model-00002-of-00007.safetensors'),
      /model\.safetensors\.index\.json puts tensor "[^"]+" in model-00002-of-00007\.safetensors, which is missing/,
    ],
    [
      'a tensor in two shards',
      (files, index) => {
        const first = shardOf(index, 'transformer.wte.weight');
        const wpe = weights.get('wpe.weight')!;
        const extra = new Map([['transformer.wpe.weight', rawTensor(wpe.data, wpe.shape, 'F32')]]);
        const other = [...files.keys()].find((n) => n.endsWith('.safetensors') && n !== first)!;
        files.set(other, hfSafetensors(extra));
        files.set(first, hfSafetensors(new Map([...extra])));
      },
      /tensor "transformer\.wpe\.weight" is in two shards, model-\d+-of-00007\.safetensors and model-\d+-of-00007\.safetensors/,
    ],
    [
      'a tensor the index does not list',
      (_files, index) => delete (index.weight_map as Record<string, string>)['transformer.h.0.ln_1.bias'],
      /model-\d+-of-00007\.safetensors: tensor "transformer\.h\.0\.ln_1\.bias" is not in model\.safetensors\.index\.json/,
    ],
    [
      'a tensor in another shard than the index says',
      (_files, index) => {
        const map = index.weight_map as Record<string, string>;
        map['transformer.ln_f.bias'] = map['transformer.wte.weight'];
      },
      /model-00007-of-00007\.safetensors: tensor "transformer\.ln_f\.bias" is here, but model\.safetensors\.index\.json puts it in model-00001-of-00007\.safetensors/,
    ],
    [
      'a tensor the index lists that no shard holds',
      (_files, index) =>
        ((index.weight_map as Record<string, string>)['transformer.h.9.ln_1.bias'] =
          'model-00001-of-00007.safetensors'),
      /model\.safetensors\.index\.json puts tensor "transformer\.h\.9\.ln_1\.bias" in model-00001-of-00007\.safetensors, which does not hold it/,
    ],
    [
      'a shard path outside the folder',
      (_files, index) =>
        ((index.weight_map as Record<string, string>)['transformer.wte.weight'] = '../model.safetensors'),
      /model\.safetensors\.index\.json: tensor "transformer\.wte\.weight" maps to "\.\.\/model\.safetensors", which is not a \.safetensors file beside the index/,
    ],
    [
      'a weight_map that is not an object',
      (_files, index) => (index.weight_map = ['transformer.wte.weight']),
      /model\.safetensors\.index\.json: "weight_map" must be an object/,
    ],
  ])('refuses %s, naming the file and the tensor', (_what, change, message) => {
    expect(refusal(() => checkpointFromFiles(broken(change))).message).toMatch(message);
  });

  it('names the shard that holds a tensor of the wrong shape', () => {
    const config = { n_positions: 10 };
    const message = refusal(() => checkpointFromFiles(folder(shardedFiles(), config))).message;
    expect(message).toMatch(
      /^model-00001-of-00007\.safetensors: tensor "transformer\.wpe\.weight" has shape \(9, 8\) but config\.json implies \(10, 8\)/,
    );
  });
});

describe('exports in a chosen dtype, sharded above a limit', () => {
  const ckpt = tinyCheckpoint({ seed: 7 });
  const ties = new Map(weights);
  // bfloat16 keeps 8 significant bits: 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷ (rounds to even: 1), 1 + 3·2⁻⁸
  // halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶ (rounds to even: 1 + 2⁻⁶).
  const wte = weights.get('wte.weight')!;
  const tieData = wte.data.slice();
  tieData.set([1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8), 3.3961e38]);
  ties.set('wte.weight', { shape: wte.shape, data: tieData });

  it('writes BF16 rounded to the nearest (ties to even), and reading it back gives the rounded values exactly', () => {
    const files = checkpointToFiles({ ...ckpt, weights: ties }, { weightsDtype: 'BF16' });
    expect(decodeJson(files.get('config.json')!).torch_dtype).toBe('bfloat16');
    const { entries, metadata } = parseSafetensorsHeader(files.get('model.safetensors')!);
    expect(metadata).toEqual({ format: 'pt' });
    expect(new Set(entries.map((e) => e.dtype))).toEqual(new Set(['BF16']));
    const back = checkpointFromFiles(files).weights.get('wte.weight')!.data;
    expect([...back.subarray(0, 3)]).toEqual([1, 1 + 2 ** -6, -1]);
    expectBitwise(checkpointFromFiles(files).weights, rounded(ties, toBF16));
  });

  it('writes F16 likewise, and refuses a value beyond its range rather than write infinity', () => {
    const files = checkpointToFiles(ckpt, { weightsDtype: 'F16' });
    expect(decodeJson(files.get('config.json')!).torch_dtype).toBe('float16');
    expectBitwise(checkpointFromFiles(files).weights, rounded(weights, toF16));
    expect(() => checkpointToFiles({ ...ckpt, weights: ties }, { weightsDtype: 'F16' })).toThrow(
      /^cannot write tensor "wte\.weight" as F16: element 3 \(3\.39\d+e\+38\) is beyond F16's range \(±65504\); write BF16 or F32 instead$/,
    );
  });

  it('shards as save_pretrained does, and F32 comes back bit for bit', () => {
    const files = checkpointToFiles(ckpt, { maxShardBytes: 1500 });
    expect(decodeJson(files.get('config.json')!).torch_dtype).toBe('float32');
    expect(files.has('model.safetensors')).toBe(false);
    // The same split, names and index as the tests' own save_pretrained writer (unprefixed names, as Hearth writes).
    const reference = hfWeightFiles(weights, 'F32', 1500, '');
    const names = (m: Map<string, Uint8Array>) => [...m.keys()].filter((n) => n.startsWith('model')).sort();
    expect(names(files)).toEqual(names(reference));
    expect(names(files)).toContain('model-00007-of-00007.safetensors');
    expect(new TextDecoder().decode(files.get('model.safetensors.index.json'))).toBe(
      new TextDecoder().decode(reference.get('model.safetensors.index.json')),
    );
    for (const name of names(files).filter((n) => n.endsWith('.safetensors'))) {
      const { entries } = parseSafetensorsHeader(files.get(name)!);
      const bytes = entries.reduce((n, e) => n + e.end - e.begin, 0);
      expect(bytes <= 1500 || entries.length === 1, name).toBe(true);
    }
    expectBitwise(checkpointFromFiles(files).weights, weights);
    expect([...checkpointToFiles(ckpt).keys()]).toContain('model.safetensors');
  });

  it('reads sizes as transformers spells max_shard_size', () => {
    expect(parseShardSize('2GB')).toBe(2e9);
    expect(parseShardSize('500MB')).toBe(5e8);
    expect(parseShardSize('10KB')).toBe(1e4);
    expect(parseShardSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseShardSize('3MiB')).toBe(3 * 2 ** 20);
    expect(parseShardSize('5Gb')).toBe(625e6); // gigabits
    expect(parseShardSize('1500')).toBe(1500);
    for (const bad of ['', '1.5GB', 'GB', '2TB', '-1MB', '0'])
      expect(() => parseShardSize(bad), bad).toThrow(/is not a size|at least one byte/);
  });
});

describe('configs whose sizes a file makes up', () => {
  afterEach(() => vi.restoreAllMocks());

  /** Counts the work the loader does in proportion to the config: the full parameter list, and per-layer lists. */
  function watch() {
    const built = vi.spyOn(gpt2, 'parameterShapes').mockImplementation(() => {
      throw new Error('the loader built the parameter list of every layer the config names');
    });
    const layers = vi.spyOn(gpt2, 'blockParameters');
    return { built, layers };
  }

  it('refuses 100000000 layers by the bound, before building anything in proportion', () => {
    const files = checkpointToFiles(tinyCheckpoint());
    const { built, layers } = watch();
    files.set(
      'config.json',
      encode(JSON.stringify({ ...decodeJson(files.get('config.json')!), n_layer: 100_000_000 })),
    );
    expect(refusal(() => checkpointFromFiles(files)).message).toBe(
      'config.json: num_hidden_layers 100000000 is over 1024, more than any model Hearth can load',
    );
    expect(built).not.toHaveBeenCalled();
    expect(layers).not.toHaveBeenCalled();
  });

  it('compares the tensor count first: 1000 layers against a 2-layer file costs a few layers, not 1000', () => {
    const files = checkpointToFiles(tinyCheckpoint());
    const { built, layers } = watch();
    files.set('config.json', encode(JSON.stringify({ ...decodeJson(files.get('config.json')!), n_layer: 1000 })));
    expect(refusal(() => checkpointFromFiles(files)).message).toBe(
      "model.safetensors: holds 28 parameter tensors but config.json's 1000 layers imply more than 120; the weights do not belong to this config",
    );
    expect(built).not.toHaveBeenCalled();
    expect(layers.mock.calls.length).toBeLessThanOrEqual(10);
  });

  it('bounds every size', () => {
    for (const [key, value, name, more] of [
      ['n_embd', 2 ** 17, 'hidden_size', {}],
      ['n_head', 8192, 'num_attention_heads', { n_embd: 65536 }],
      ['vocab_size', 2 ** 22, 'vocab_size', {}],
      ['n_positions', 2 ** 25, 'max_position_embeddings', {}],
    ] as const) {
      const files = checkpointToFiles(tinyCheckpoint());
      const config = { ...decodeJson(files.get('config.json')!), [key]: value, n_ctx: undefined, ...more };
      files.set('config.json', encode(JSON.stringify(config)));
      expect(refusal(() => checkpointFromFiles(files)).message, key).toMatch(
        new RegExp(`^config\\.json: ${name} ${value} is over`),
      );
    }
  });
});
