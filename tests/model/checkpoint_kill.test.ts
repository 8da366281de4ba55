// Checkpoint folders under SIGKILL: a writer process (checkpoint_writer.ts, bundled) saves and rotates a toy model's
// checkpoint and is killed at random instants, hundreds of saves in all; and once exactly in the middle of rotation's
// delete.
// After every kill no folder under a checkpoint's name is half-written; once the leftovers are resolved (as the next
// run does at start), every listed checkpoint loads and resumes training.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFromFiles, checkpointToFiles, type CheckpointFiles } from '../../src/core/checkpoint/hf_folder.ts';
import {
  listCheckpointFolders,
  readCheckpointFolder,
  writeCheckpointFolder,
} from '../../src/core/checkpoint/node_folder.ts';
import type { BlockDataset } from '../../src/core/data/dataset.ts';
import { CausalLM } from '../../src/core/model/causal_lm.ts';
import { makeGpt2Config } from '../../src/core/model/families/gpt2_config.ts';
import type { ModelDims } from '../../src/core/model/families/index.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import { resolveArguments } from '../../src/core/train/args.ts';
import { resumePointOf, snapshotToCheckpoint } from '../../src/core/train/checkpointing.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { rng, tf, useGpu } from '../helpers.ts';
import { bundledScript } from '../bundles.ts';

const root = new URL('../../', import.meta.url).pathname;
const dims: ModelDims = {
  vocab_size: 17,
  n_positions: 16,
  n_embd: 16,
  n_layer: 1,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};
const T = 8;
const data: BlockDataset = { blockSize: T, numBlocks: 12, tokens: Uint16Array.from(rng(5).ints(12 * T, 17)) };

let dir: string;
let template: string;
let templateFiles: CheckpointFiles;

interface Writer {
  child: ChildProcess;
  saved: number[];
  ready: Promise<void>;
  exited: Promise<void>;
}

/** Starts checkpoint_writer.ts saving checkpoint-{first}, checkpoint-{first+1}, ... into `out`. */
function startWriter(out: string, first: number, limit: number, count = 1_000_000): Writer {
  const args = [template, out, first, limit, count].map(String);
  const child = spawn(process.execPath, [bundledScript('checkpoint_writer'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const saved: number[] = [];
  let buffered = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') resolve();
        else if (line.startsWith('saved ')) saved.push(Number(line.slice(6)));
      }
    });
    child.on('exit', () => reject(new Error('the writer exited before it was ready')));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, saved, ready, exited };
}

/** The files of a folder exactly as they are on disk (no recovery, unlike readCheckpointFolder). */
async function rawFiles(folder: string): Promise<CheckpointFiles> {
  const files: CheckpointFiles = new Map();
  for (const name of await readdir(folder)) files.set(name, new Uint8Array(await readFile(join(folder, name))));
  return files;
}

/** Every folder named checkpoint-N is whole: the template's files, byte for byte but for the step it records. */
async function expectNothingHalfWritten(out: string): Promise<void> {
  for (const name of await readdir(out)) {
    if (!/^checkpoint-\d+$/.test(name)) continue;
    const files = await rawFiles(join(out, name));
    expect([...files.keys()].sort(), name).toEqual([...templateFiles.keys()].sort());
    for (const [file, bytes] of files) {
      if (file !== 'hearth_state.json')
        expect(Buffer.compare(bytes, templateFiles.get(file)!), `${name}/${file}`).toBe(0);
    }
    expect(checkpointFromFiles(files).training!.step, name).toBe(Number(name.slice('checkpoint-'.length)));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('checkpoint folders under SIGKILL', () => {
  useGpu();

  beforeAll(async () => {
    // In memory where there is a tmpfs: what is tested is what a kill leaves, not how fast a disk flushes.
    dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hearth-kill-'));
    // A real checkpoint of a toy model after two training steps: the template every writer saves.
    const model = CausalLM.init(dims, 9);
    const args = resolveArguments(
      { block_size: T, per_device_train_batch_size: 2, max_steps: 100, save_strategy: 'no' },
      dims.n_positions,
    );
    const trainer = new Trainer({ model, args, train: data });
    for (let i = 0; i < 2; i++) tf.dispose(Object.values(trainer.trainStep()));
    const tokenizer = charTokenizerFrom('abcdefghijklmnop');
    templateFiles = checkpointToFiles(snapshotToCheckpoint(await trainer.snapshot(), makeGpt2Config(dims), tokenizer));
    template = join(dir, 'template');
    await writeCheckpointFolder(template, templateFiles);
    trainer.dispose();
    model.dispose();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a kill in the middle of rotation leaves no half-deleted folder under a checkpoint name', async () => {
    const out = join(dir, 'rotation');
    const doomed = join(out, 'checkpoint-10');
    await cp(template, doomed, { recursive: true });
    // Enough files that deleting them takes a while, so the kill lands inside the delete.
    await mkdir(join(doomed, 'runs'));
    await Promise.all(Array.from({ length: 4000 }, (_, i) => writeFile(join(doomed, 'runs', `event-${i}`), 'x')));
    const before = (await readdir(doomed)).length;
    const writer = startWriter(out, 20, 1, 1);
    await writer.ready;
    // Kill the moment checkpoint-10 starts to change: renamed aside, or (in place) losing its first files.
    for (;;) {
      const now = await readdir(doomed).catch(() => null);
      const inside = now && now.includes('runs') ? await readdir(join(doomed, 'runs')).catch(() => []) : [];
      if (!now || now.length < before || inside.length < 4000) break;
      if (writer.saved.length > 0) throw new Error('the writer finished before the delete could be caught');
    }
    writer.child.kill('SIGKILL');
    await writer.exited;
    const names = await readdir(out);
    // checkpoint-10 is either whole (the kill came before the delete began) or gone from its name.
    if (names.includes('checkpoint-10')) {
      expect((await readdir(doomed)).length).toBe(before);
      expect((await readdir(join(doomed, 'runs'))).length).toBe(4000);
    }
    expect(names.some((n) => n.startsWith('checkpoint-10.old-'))).toBe(true);
    await listCheckpointFolders(out); // what the next run does first
    expect((await readdir(out)).sort()).toEqual(['checkpoint-20']);
  });

  it('survives hundreds of saves and rotations killed at random instants', async () => {
    const out = join(dir, 'soak');
    const r = rng();
    let saves = 0;
    let kills = 0;
    let lastSaved = 2;
    const leftovers = { tmp: 0, old: 0, cutReplace: 0 };
    while ((saves < 300 || kills < 30) && kills < 100) {
      // Each writer starts at the step after the last one reported saved: the step in flight when it was killed is
      // saved again, replacing whatever the kill left of it.
      const writer = startWriter(out, lastSaved + 1, 2);
      await writer.ready;
      await sleep(r.uniform() * 250);
      writer.child.kill('SIGKILL');
      await writer.exited;
      kills++;
      saves += writer.saved.length;
      lastSaved = writer.saved.at(-1) ?? lastSaved;
      const names = await readdir(out).catch(() => [] as string[]);
      leftovers.tmp += names.filter((n) => n.includes('.tmp-')).length;
      leftovers.old += names.filter((n) => n.includes('.old-')).length;
      const cut = names.filter((n) => /\.old-/.test(n) && !names.includes(n.replace(/\.old-.*/, '')));
      leftovers.cutReplace += cut.filter((n) => names.includes(n.replace('.old-', '.tmp-'))).length;
      await expectNothingHalfWritten(out);
    }
    console.log(`${saves} saves, ${kills} kills; leftovers seen: ${JSON.stringify(leftovers)}`);
    expect(saves).toBeGreaterThanOrEqual(300);
    expect(kills).toBeGreaterThanOrEqual(30);

    const listed = await listCheckpointFolders(out);
    expect((await readdir(out)).filter((n) => !/^checkpoint-\d+$/.test(n))).toEqual([]);
    // Nothing reported saved was lost: the newest checkpoint is at least the last step reported saved.
    expect(Math.max(...listed.map((c) => c.step!))).toBeGreaterThanOrEqual(lastSaved);
    expect(listed.length).toBeGreaterThanOrEqual(1);
    for (const c of listed) {
      const ckpt = checkpointFromFiles(await readCheckpointFolder(join(out, c.id)));
      const resume = resumePointOf(ckpt)!;
      expect(resume.state.step).toBe(c.step);
      const model = CausalLM.fromArrays(dims, ckpt.weights);
      const trainer = new Trainer({ model, args: resume.args, train: data, resume });
      const { loss, gradNorm } = trainer.trainStep();
      expect(Number.isFinite((await loss.data())[0])).toBe(true);
      expect(trainer.step).toBe(c.step! + 1);
      tf.dispose([loss, gradNorm]);
      trainer.dispose();
      model.dispose();
    }
  });
});
