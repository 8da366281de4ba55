// `hearth export` as a user runs it: a Hugging Face folder (sharded, BF16, as save_pretrained writes it) written
// again in a chosen dtype, sharded at a chosen size, as a folder or a zip; bad flags refused with the reason.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFromZip } from '../../src/core/checkpoint/archive.ts';
import { checkpointFromFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { readCheckpointFolder } from '../../src/core/checkpoint/node_folder.ts';
import { parseSafetensorsHeader } from '../../src/core/checkpoint/safetensors.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { modelConfigToJson } from '../../src/core/model/families/index.ts';
import type { NamedTensors } from '../../src/core/model/host_tensors.ts';
import { TOKENIZER_JSON, tinyCheckpoint, tinyConfig } from '../unit/checkpoint_fixtures.ts';
import { bf16Bits, bf16Value, hfWeightFiles } from '../unit/hf_fixtures.ts';
import { hearth } from './hearth_cli.ts';

function expectBitwise(got: NamedTensors, want: NamedTensors) {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [name, t] of want) expect(bitwiseEqual(got.get(name)!, t), name).toBe(true);
}

describe('hearth export', () => {
  let dir = '';
  let model = '';
  const { weights } = tinyCheckpoint({ seed: 11 });
  /** The weights as the BF16 files hold them. */
  const bf16 = new Map(
    [...weights].map(([n, t]) => [n, { shape: t.shape, data: t.data.map((x) => bf16Value(bf16Bits(x))) }]),
  );

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-export-'));
    model = join(dir, 'from-hub');
    mkdirSync(model);
    const config = { ...JSON.parse(modelConfigToJson(tinyConfig())), torch_dtype: 'bfloat16' };
    writeFileSync(join(model, 'config.json'), JSON.stringify(config));
    writeFileSync(join(model, 'tokenizer.json'), TOKENIZER_JSON);
    for (const [name, bytes] of hfWeightFiles(weights, 'BF16', 1000)) writeFileSync(join(model, name), bytes);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes bfloat16 shards at --max_shard_size, and they read back exactly', async () => {
    const out = join(dir, 'bf16');
    const r = hearth('export', '--model', model, '--out', out, '--dtype', 'bf16', '--max_shard_size', '2KB');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*bf16: bfloat16 weights in 3 shards and model\.safetensors\.index\.json/);
    const names = readdirSync(out).sort();
    expect(names.filter((n) => n.startsWith('model'))).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      'model.safetensors.index.json',
    ]);
    expect(names).not.toContain('hearth_state.json');
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    for (const n of names.filter((x) => x.endsWith('.safetensors'))) {
      const { entries } = parseSafetensorsHeader(new Uint8Array(readFileSync(join(out, n))));
      expect(entries.every((e) => e.dtype === 'BF16')).toBe(true);
      expect(entries.reduce((s, e) => s + e.end - e.begin, 0)).toBeLessThanOrEqual(2000);
    }
    expectBitwise(checkpointFromFiles(await readCheckpointFolder(out)).weights, bf16);
  });

  it('writes float32 in one file into a zip by default, every bit kept', () => {
    const out = join(dir, 'model.zip');
    const r = hearth('export', '--model', model, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/float32 weights in model\.safetensors/);
    const ckpt = checkpointFromZip(new Uint8Array(readFileSync(out)));
    expect(ckpt.config.torch_dtype).toBe('float32');
    expectBitwise(ckpt.weights, bf16);
  });

  it('refuses a dtype, a size or an --out it cannot use, saying why', () => {
    const never = join(dir, 'never');
    const cases: [string[], RegExp][] = [
      [['--out', never, '--dtype', 'int8'], /--dtype takes float32, bfloat16 or float16, got 'int8'/],
      [['--out', never, '--max_shard_size', '1.5GB'], /--max_shard_size: "1\.5GB" is not a size/],
      [['--out', model], /--out .*from-hub already exists/],
    ];
    for (const [flags, message] of cases) {
      const r = hearth('export', '--model', model, ...flags);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(readdirSync(dir)).not.toContain('never');
  });
});
