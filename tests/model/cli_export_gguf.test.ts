// `hearth export` as a user runs it: a checkpoint folder in, one GGUF file out that a second reader parses.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { writeCheckpointFolder } from '../../src/core/checkpoint/node_folder.ts';
import { tinyCheckpoint } from '../unit/checkpoint_fixtures.ts';
import { parseWithHf, TYPE_ID } from '../unit/gguf_fixtures.ts';
import { CharTokenizer } from '../../src/core/tokenizer/index.ts';
import { presetConfig } from '../../src/core/model/presets.ts';
import { modelParameterShapes } from '../../src/core/checkpoint/weights.ts';
import { randomTensors } from '../unit/checkpoint_fixtures.ts';
import { hearth } from './hearth_cli.ts';

describe('hearth export --format gguf', () => {
  it('writes a checkpoint folder as a Q8_0 GGUF file, and refuses a type it does not write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-export-'));
    const tokenizer = new CharTokenizer([...'abcdefghijk']);
    const ckpt = tinyCheckpoint({ config: { vocab_size: tokenizer.vocabSize, n_embd: 32, n_head: 2 } });
    ckpt.tokenizer = { 'tokenizer.json': tokenizer.toTokenizerJson() };
    await writeCheckpointFolder(join(dir, 'model'), checkpointToFiles(ckpt));

    const path = join(dir, 'model-q8_0.gguf');
    const r = hearth('export', '--model', join(dir, 'model'), '--format', 'gguf', '--dtype', 'q8_0', '--out', path);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*model-q8_0\.gguf \([\d.]+ KiB, Q8_0\)/);
    const parsed = await parseWithHf(new Uint8Array(readFileSync(path)));
    const metadata = parsed.metadata as Record<string, unknown>;
    expect(metadata['general.architecture']).toBe('gpt2');
    expect(metadata['general.name']).toBe('model');
    const types = new Map(parsed.tensorInfos.map((t) => [t.name, t.dtype]));
    expect(types.get('token_embd.weight')).toBe(TYPE_ID.Q8_0);
    expect(types.get('output_norm.bias')).toBe(TYPE_ID.F32);
    expect(readdirSync(dir).sort()).toEqual(['model', 'model-q8_0.gguf']); // no .partial left behind

    const bad = hearth('export', '--model', join(dir, 'model'), '--dtype', 'q4_k', '--out', join(dir, 'x.gguf'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("hearth: --dtype for GGUF takes f32, f16, q8_0, got 'q4_k'");
    expect(existsSync(join(dir, 'x.gguf'))).toBe(false);
  });

  it('writes a llama-tiny checkpoint as llama.cpp’s llama architecture (the head tied, so no output tensor)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-export-llama-'));
    const tokenizer = new CharTokenizer([...'abcdefghijk ']);
    const config = presetConfig('llama-tiny', tokenizer);
    await writeCheckpointFolder(
      join(dir, 'model'),
      checkpointToFiles({
        config,
        weights: randomTensors(modelParameterShapes(config), 5),
        tokenizer: { 'tokenizer.json': tokenizer.toTokenizerJson() },
      }),
    );
    const path = join(dir, 'tiny.gguf');
    const r = hearth('export', '--model', join(dir, 'model'), '--dtype', 'f16', '--out', path);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*tiny\.gguf \([\d.]+ KiB, F16\)/);
    const parsed = await parseWithHf(new Uint8Array(readFileSync(path)));
    const metadata = parsed.metadata as Record<string, unknown>;
    expect(metadata['general.architecture']).toBe('llama');
    expect(metadata['llama.attention.head_count_kv']).toBe(2);
    expect(metadata['llama.rope.dimension_count']).toBe(32);
    const types = new Map(parsed.tensorInfos.map((t) => [t.name, t.dtype]));
    expect(types.get('blk.1.attn_q.weight')).toBe(TYPE_ID.F16);
    expect(types.get('blk.1.ffn_norm.weight')).toBe(TYPE_ID.F32);
    expect(types.has('output.weight')).toBe(false);
    expect(parsed.tensorInfos).toHaveLength(1 + 2 * 9 + 1);
  });
});
