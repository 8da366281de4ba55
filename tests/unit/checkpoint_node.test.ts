// Checkpoints as Hugging Face folders on disk (the CLI's store): atomic replace, rotation.
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointFromFiles, checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import {
  listCheckpointFolders,
  readCheckpointFolder,
  saveCheckpointFolder,
  writeCheckpointFolder,
} from '../../src/core/checkpoint/node_folder.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hearth-ckpt-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('checkpoint folders', () => {
  it('writes a Hugging Face folder and reads it back bit for bit, training state included', async () => {
    const ckpt = tinyCheckpoint({ training: true });
    const dir = join(root, 'out', 'final');
    await writeCheckpointFolder(dir, checkpointToFiles(ckpt));
    await writeFile(join(dir, 'README.md'), '# model card');
    expect((await readdir(dir)).sort()).toEqual([
      'README.md',
      'config.json',
      'generation_config.json',
      'hearth_state.json',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
    ]);
    const back = checkpointFromFiles(await readCheckpointFolder(dir));
    for (const [name, t] of ckpt.weights) expect(bitwiseEqual(back.weights.get(name)!, t), name).toBe(true);
    expect(back.training!.step).toBe(40);
  });

  it('replaces a folder only once the new one is complete', async () => {
    const dir = join(root, 'model');
    await writeCheckpointFolder(dir, checkpointToFiles(tinyCheckpoint({ seed: 1 })));
    const before = await readFile(join(dir, 'model.safetensors'));
    const broken = checkpointToFiles(tinyCheckpoint({ seed: 2 }));
    broken.set('no/such/folder.json', new Uint8Array(1)); // this write fails after the others succeeded
    await expect(writeCheckpointFolder(dir, broken)).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(dir, 'model.safetensors'))).toEqual(before);
    expect(await readdir(root)).toEqual(['model']); // no temporary folder left behind

    await writeCheckpointFolder(dir, checkpointToFiles(tinyCheckpoint({ seed: 2 })));
    const back = checkpointFromFiles(await readCheckpointFolder(dir));
    expect(bitwiseEqual(back.weights.get('wte.weight')!, tinyCheckpoint({ seed: 2 }).weights.get('wte.weight')!)).toBe(
      true,
    );
    expect(await readdir(root)).toEqual(['model']);
  });

  it('saves checkpoint-{step} folders and rotates them, keeping the best by eval loss', async () => {
    const losses = [3, 1, 2, 4];
    for (let step = 10; step <= 40; step += 10) {
      const ckpt = tinyCheckpoint({ training: true });
      ckpt.training!.step = step;
      ckpt.training!.evalLoss = losses[step / 10 - 1];
      const dir = await saveCheckpointFolder(root, ckpt, { saveTotalLimit: 2, keepBest: true });
      expect(dir).toBe(join(root, `checkpoint-${step}`));
    }
    expect((await readdir(root)).sort()).toEqual(['checkpoint-20', 'checkpoint-40']);
    expect((await listCheckpointFolders(root)).map((c) => [c.id, c.evalLoss]).sort()).toEqual([
      ['checkpoint-20', 1],
      ['checkpoint-40', 4],
    ]);
  });

  it('explains a folder with only PyTorch weights', async () => {
    await mkdir(join(root, 'm'));
    await writeFile(join(root, 'm', 'pytorch_model.bin'), 'x');
    await expect(readCheckpointFolder(join(root, 'm'))).rejects.toThrow(/pytorch_model\.bin but no model\.safetensors/);
    await expect(readCheckpointFolder(join(root, 'nothing'))).rejects.toThrow(/cannot read folder/);
  });
});
