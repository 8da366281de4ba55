// The IndexedDB store (fake-indexeddb) when a tab dies mid-save: reloaded, closed, or asleep while another tab sweeps.
// A tab's death is what the browser makes of it: the operation it dies in commits or not, nothing after it happens,
// and the Web Locks it held are released. Then the listed checkpoints must be whole and loadable, and what the dead
// save wrote must be gone as soon as the next page opens the store.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { HearthCheckpoint } from '../../src/core/checkpoint/hf_folder.ts';
import {
  CheckpointStore,
  idbBackend,
  type KeyValueBackend,
  type LockManagerLike,
  type StorageLike,
} from '../../src/core/checkpoint/store.ts';
import { bitwiseEqual } from '../../src/core/checkpoint/tensors.ts';
import { resumePointOf } from '../../src/core/train/checkpointing.ts';
import { rng } from '../helpers.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';

let dbCount = 0;
const freshBackend = () => idbBackend(`hearth-interrupted-${dbCount++}`);

/** navigator.locks of one origin: a lock is held until its callback settles or the tab holding it goes away. */
class OriginLocks {
  private readonly held = new Map<string, number>();
  private tabs = 0;

  tab(): LockManagerLike & { close(): void } {
    const tab = this.tabs++;
    return {
      request: async (name, options, callback) => {
        if (this.held.has(name)) {
          if (options.ifAvailable) return callback(null);
          throw new Error(`lock ${name} is taken (waiting for a lock is not needed here)`);
        }
        this.held.set(name, tab);
        try {
          return await callback({ name });
        } finally {
          if (this.held.get(name) === tab) this.held.delete(name);
        }
      },
      close: () => {
        for (const [name, holder] of this.held) if (holder === tab) this.held.delete(name);
      },
    };
  }
}

const never = new Promise<never>(() => {});

/**
 * A tab's connection to the database that dies at its n-th operation (counting those `counts` accepts): that one
 * commits or not, by a coin toss, and no later one starts. `died` resolves when it has died.
 */
function mortal(
  backend: KeyValueBackend,
  toss: () => number,
): {
  backend: KeyValueBackend;
  dieAt(n: number, counts?: (op: string, key?: unknown) => boolean): void;
  died: Promise<void>;
} {
  let left = Infinity;
  let counts: (op: string, key?: unknown) => boolean = () => true;
  let markDead!: () => void;
  const died = new Promise<void>((r) => (markDead = r));
  const guard =
    <A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (left <= 0) return never;
      if (!counts(op, a[0]) || --left > 0) return fn(...a);
      if (toss() < 0.5) await fn(...a);
      markDead();
      return never;
    };
  return {
    backend: {
      get: guard('get', backend.get),
      getMany: guard('getMany', backend.getMany),
      set: guard('set', backend.set),
      delMany: guard('delMany', backend.delMany),
      keys: guard('keys', backend.keys),
      update: guard('update', backend.update),
      transact: guard('transact', backend.transact),
    } as KeyValueBackend,
    dieAt(n, which = () => true) {
      left = n;
      counts = which;
    },
    died,
  };
}

/** A checkpoint that resumes (a sound data position and arguments the tiny config allows). */
function resumable(step: number): HearthCheckpoint {
  const ckpt = tinyCheckpoint({ training: true });
  Object.assign(ckpt.training!, {
    step,
    dataPosition: { seed: 3, epoch: 0, index: 4 },
    rngState: { optimizer_step: step },
    trainerArgs: { ...ckpt.training!.trainerArgs, block_size: 8 },
  });
  return ckpt;
}

/** Bytes the store holds, as the browser's storage estimate counts them. */
function measuredStorage(backend: KeyValueBackend, quota: () => number): StorageLike {
  return {
    async estimate() {
      const values = await backend.getMany<unknown>(await backend.keys());
      const usage = values.reduce<number>((n, v) => n + (v instanceof Uint8Array ? v.byteLength : 0), 0);
      return { usage, quota: quota() };
    },
  };
}

async function partIds(backend: KeyValueBackend): Promise<Set<string>> {
  return new Set(
    (await backend.keys()).filter((k) => k.startsWith('part:')).map((k) => k.slice('part:'.length).split(':')[0]),
  );
}

describe('a tab that dies mid-save', () => {
  it('leaves nothing the next page has to wait an hour to reclaim: the next save fits', async () => {
    const backend = freshBackend();
    const locks = new OriginLocks();
    let quota = Infinity;
    const first = new CheckpointStore(backend, { storage: null, chunkBytes: 2000, locks: locks.tab() });
    const kept = await first.save(resumable(10), { name: 'kept', run: 'r' });
    const size = kept.bytes;
    const parts = kept.files.reduce((n, f) => n + f.chunks, 0);

    // The page reloads while the second save has written all but its last part.
    const tab = locks.tab();
    const dying = mortal(backend, () => 1);
    dying.dieAt(parts, (op, key) => op === 'set' && String(key).startsWith('part:'));
    void new CheckpointStore(dying.backend, { storage: null, chunkBytes: 2000, locks: tab }).save(resumable(20), {
      name: 'torn',
      run: 'r',
    });
    await dying.died;
    tab.close();

    // Room for the kept checkpoint and one more, not for the torn save's parts besides.
    quota = 2.5 * size + 4 * 1024 ** 2;
    const reloaded = new CheckpointStore(backend, {
      storage: measuredStorage(backend, () => quota),
      chunkBytes: 2000,
      locks: locks.tab(),
    });
    expect((await reloaded.list()).map((c) => c.name)).toEqual(['kept']);
    expect(await partIds(backend)).toEqual(new Set([kept.id]));
    const next = await reloaded.save(resumable(30), { name: 'next', run: 'r' });
    expect((await reloaded.list()).map((c) => c.name)).toEqual(['next', 'kept']);
    expect(resumePointOf(await reloaded.load(kept.id))!.state.step).toBe(10);
    expect(resumePointOf(await reloaded.load(next.id))!.state.step).toBe(30);
  });

  it('a save whose parts another tab swept while it slept fails instead of listing a damaged checkpoint', async () => {
    const backend = freshBackend();
    let now = 0;
    // Without Web Locks a save is judged by its age: an hour asleep makes it look abandoned.
    const options = { storage: null, chunkBytes: 2000, locks: null, now: () => now };
    let wake!: () => void;
    const asleep = new Promise<void>((r) => (wake = r));
    let fellAsleep!: () => void;
    const sleeping = new Promise<void>((r) => (fellAsleep = r));
    let partWrites = 0;
    const sleepy: KeyValueBackend = {
      ...backend,
      set: async (key, value) => {
        if (key.startsWith('part:') && ++partWrites === 3) {
          fellAsleep();
          await asleep;
        }
        return backend.set(key, value);
      },
    };
    const other = new CheckpointStore(backend, options);
    const kept = await other.save(resumable(10), { name: 'kept' });
    const saving = new CheckpointStore(sleepy, options).save(resumable(20), { name: 'slept' }).then(
      () => null,
      (e: Error) => e,
    );
    await sleeping;
    now += 2 * 60 * 60 * 1000;
    expect(await other.sweep()).toBeGreaterThan(0);
    wake();
    expect((await saving)?.message).toMatch(
      /^saving "slept" failed \(its parts were swept as abandoned while it was writing \(was the tab asleep\?\)\); the earlier checkpoints are untouched$/,
    );
    const list = await other.list();
    expect(list.map((c) => c.name)).toEqual(['kept']);
    expect(resumePointOf(await other.load(kept.id))!.state.step).toBe(10);
    expect(await partIds(backend)).toEqual(new Set([kept.id]));
  });

  it('hundreds of saves and rotations cut at random instants leave every listed checkpoint whole', async () => {
    const backend = freshBackend();
    const locks = new OriginLocks();
    const r = rng();
    const weights = resumable(0).weights;
    let lastSaved = 0;
    let deaths = 0;
    for (let step = 1; step <= 300; step++) {
      const tab = locks.tab();
      const dying = mortal(backend, r.uniform);
      const dies = r.uniform() < 0.5;
      if (dies) dying.dieAt(1 + Math.floor(r.uniform() * 24));
      const store = new CheckpointStore(dying.backend, { storage: null, chunkBytes: 3000, locks: tab });
      const saved = store.save(resumable(step), { name: `step ${step}`, run: 'r', saveTotalLimit: 2 });
      const outcome = await Promise.race([saved.then(() => 'saved' as const), dying.died.then(() => 'died' as const)]);
      // A save that resolved was listed; its rotation may still have been cut short.
      if (outcome === 'saved') lastSaved = step;
      else deaths++;
      tab.close();

      // The next page: it sweeps on opening the store, then every listed checkpoint must load and resume.
      const next = new CheckpointStore(backend, { storage: null, chunkBytes: 3000, locks: locks.tab() });
      const listed = await next.list();
      // Rotation cut short keeps an extra checkpoint until the next save that completes.
      if (outcome === 'saved') expect(listed.length, `after step ${step}`).toBeLessThanOrEqual(2);
      if (lastSaved > 0) expect(listed[0].step, `after step ${step}`).toBeGreaterThanOrEqual(lastSaved);
      for (const c of listed) {
        const ckpt = await next.load(c.id);
        expect(resumePointOf(ckpt)!.state.step).toBe(c.step);
        for (const [name, t] of weights) expect(bitwiseEqual(ckpt.weights.get(name)!, t), name).toBe(true);
      }
      const keys = await backend.keys();
      expect(keys.filter((k) => k.startsWith('pending:'))).toEqual([]);
      expect(await partIds(backend)).toEqual(new Set(listed.map((c) => c.id)));
    }
    expect(deaths).toBeGreaterThan(100);
  });
});
