// Checkpoints as Hugging Face folders on disk (the CLI's store): atomic replace, rotation, and what a process killed
// mid-write leaves behind (made here as such a kill leaves it, with the pid of a process that has exited).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointFromFiles, checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import {
  listCheckpointFolders,
  readCheckpointFolder,
  recoverInterruptedWrites,
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

/** The pid of a process that has exited, as in the names a killed writer leaves. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function stepOf(ckpt: ReturnType<typeof checkpointFromFiles>): number {
  return ckpt.training!.step;
}

async function checkpointAt(step: number, seed = step) {
  const ckpt = tinyCheckpoint({ seed, training: true });
  ckpt.training!.step = step;
  return checkpointToFiles(ckpt);
}

describe('what a killed writer leaves', () => {
  it('finishes a replace cut between its two renames: the checkpoint is never absent', async () => {
    const pid = deadPid();
    // The new folder was complete and the old one renamed aside when the kill came.
    await writeCheckpointFolder(join(root, `checkpoint-30.tmp-${pid}-0a1b2c3d`), await checkpointAt(30, 2));
    await writeCheckpointFolder(join(root, `checkpoint-30.old-${pid}-0a1b2c3d`), await checkpointAt(30, 1));
    const back = checkpointFromFiles(await readCheckpointFolder(join(root, 'checkpoint-30')));
    expect(bitwiseEqual(back.weights.get('wte.weight')!, tinyCheckpoint({ seed: 2 }).weights.get('wte.weight')!)).toBe(
      true,
    );
    expect(await readdir(root)).toEqual(['checkpoint-30']);
  });

  it('lists the checkpoint a cut replace left aside, and sweeps the rest of a dead writer at start', async () => {
    const pid = deadPid();
    await writeCheckpointFolder(join(root, 'checkpoint-10'), await checkpointAt(10));
    await writeCheckpointFolder(join(root, `checkpoint-20.tmp-${pid}-00000001`), await checkpointAt(20, 7));
    await writeCheckpointFolder(join(root, `checkpoint-20.old-${pid}-00000001`), await checkpointAt(20, 6));
    // half-written, and half-deleted by rotation: neither has its model files
    await mkdir(join(root, `checkpoint-30.tmp-${pid}-00000002`));
    await writeFile(join(root, `checkpoint-30.tmp-${pid}-00000002`, 'config.json'), '{');
    await mkdir(join(root, `checkpoint-5.old-${pid}-00000003`));
    // a write in progress in a live process (this one's parent) is left alone
    const live = `checkpoint-40.tmp-${process.ppid}-00000004`;
    await mkdir(join(root, live));

    const listed = await listCheckpointFolders(root);
    expect(listed.map((c) => c.id).sort()).toEqual(['checkpoint-10', 'checkpoint-20']);
    expect((await readdir(root)).sort()).toEqual(['checkpoint-10', 'checkpoint-20', live]);
    expect(stepOf(checkpointFromFiles(await readCheckpointFolder(join(root, 'checkpoint-20'))))).toBe(20);
    expect(await recoverInterruptedWrites(root)).toEqual([]);
  });

  it('a save sweeps what earlier runs left when they were killed', async () => {
    const pid = deadPid();
    await mkdir(join(root, `checkpoint-1.tmp-${pid}-0000000a`));
    for (const step of [10, 20, 30]) await saveCheckpointFolder(root, tinyState(step), { saveTotalLimit: 2 });
    expect((await readdir(root)).sort()).toEqual(['checkpoint-20', 'checkpoint-30']);
  });
});

function tinyState(step: number) {
  const ckpt = tinyCheckpoint({ training: true });
  ckpt.training!.step = step;
  return ckpt;
}
