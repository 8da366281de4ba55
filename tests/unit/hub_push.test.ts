// Pushing a model to the Hub, against a local server that takes uploads as the Hub's API does.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointToFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { writeCheckpointFolder } from '../../src/core/checkpoint/node_folder.ts';
import { LOSS_CURVE_FILE, MODEL_CARD_FILE, pushFiles, pushToHub } from '../../src/core/hub/push.ts';
import { lossCurvePng } from '../../src/core/hub/loss_curve.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';
import { startUploadHub, type UploadHub } from './hub_upload_server.ts';

let hub: UploadHub;
beforeAll(async () => {
  hub = await startUploadHub();
});
afterAll(() => hub.close());

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function filesOf(seed: number) {
  const ckpt = tinyCheckpoint({ seed, training: true });
  return {
    ckpt,
    files: pushFiles(ckpt, checkpointToFiles({ ...ckpt, training: undefined }), {
      baseModel: 'gpt2',
      dataSummary: 'two poems',
    }),
  };
}

describe('push to the Hub', () => {
  it('creates the repo and commits the model, its card and its loss curve; a second push updates it', async () => {
    const { files } = filesOf(1);
    const result = await pushToHub(files, { repo: 'me/poems', token: hub.token, hubUrl: hub.url, private: true });
    const repo = hub.repos.get('me/poems')!;
    expect(repo.private).toBe(true);
    expect([...repo.files.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [name, bytes] of files) expect(repo.files.get(name), name).toEqual(bytes);
    expect(result.commitUrl).toMatch(new RegExp(`^${hub.url}/me/poems/commit/[0-9a-f]{40}$`));
    expect(repo.files.has('hearth_state.json') || repo.files.has('optimizer.safetensors')).toBe(false);

    const card = text(repo.files.get(MODEL_CARD_FILE));
    expect(card).toMatch(
      /^---\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n {2}- hearth\nbase_model: "gpt2"\n---\n/,
    );
    expect(card).toContain('fine-tuned from [gpt2](https://huggingface.co/gpt2)');
    expect(card).toContain('## Training data\n\ntwo poems');
    expect(card).toContain('| learning_rate | 0.0006 |');
    expect(card).toContain('| per_device_train_batch_size | 4 |');
    expect(card).toContain('- final training loss: 2.5000');
    expect(card).toContain('- final eval loss: 2.7500 (perplexity 15.64)');
    expect(card).toContain(`](${LOSS_CURVE_FILE})`);
    const png = decode(repo.files.get(LOSS_CURVE_FILE)!);
    expect([png.width, png.height, png.channels]).toEqual([640, 360, 4]);

    const second = filesOf(2).files;
    await pushToHub(second, { repo: 'me/poems', token: hub.token, hubUrl: hub.url, commitMessage: 'more poems' });
    expect(repo.files.get('model.safetensors')).toEqual(second.get('model.safetensors'));
    expect(repo.commits).toEqual(['Upload model trained with Hearth', 'more poems']);
  });

  it('refuses a wrong token with a clear message, and commits nothing', async () => {
    const { files } = filesOf(3);
    const error = await pushToHub(files, { repo: 'me/denied', token: 'hf_wrong', hubUrl: hub.url }).catch((e) => e);
    expect(error.message).toBe('the Hub refused the token for me/denied (401): give a token with write access to it');
    expect(hub.repos.has('me/denied')).toBe(false);
    const malformed = await pushToHub(files, { repo: 'me/denied', token: 'secret', hubUrl: hub.url }).catch((e) => e);
    expect(malformed.message).toMatch(/a Hugging Face access token starts with hf_/);
    const noOwner = await pushToHub(files, { repo: 'poems', token: hub.token, hubUrl: hub.url }).catch((e) => e);
    expect(noOwner.message).toBe('"poems" needs an owner: USER/NAME or ORG/NAME');
  });

  it('tries a dropped upload again and commits once it is whole', async () => {
    const { files } = filesOf(4);
    hub.dropUploads = 1;
    await pushToHub(files, { repo: 'me/flaky', token: hub.token, hubUrl: hub.url });
    expect(hub.dropUploads).toBe(0);
    expect(hub.repos.get('me/flaky')!.files.get('model.safetensors')).toEqual(files.get('model.safetensors'));
    expect(hub.repos.get('me/flaky')!.commits).toHaveLength(1);
  });

  it('fails clearly when every attempt drops, and leaves no commit claimed as done', async () => {
    const { files } = filesOf(5);
    hub.dropUploads = 100;
    try {
      const error = await pushToHub(files, {
        repo: 'me/offline',
        token: hub.token,
        hubUrl: hub.url,
        attempts: 2,
      }).catch((e) => e);
      expect(error.message).toMatch(
        /^the push of me\/offline to 127\.0\.0\.1:\d+ broke off \(.+\); nothing was committed, try again$/,
      );
      expect(hub.repos.get('me/offline')!.commits).toEqual([]);
      expect(hub.repos.get('me/offline')!.files.size).toBe(0);
    } finally {
      hub.dropUploads = 0;
    }
  });

  it('draws no curve for a run with fewer than two points, and a card without results for an untrained model', () => {
    expect(lossCurvePng([{ step: 1, loss: 2 }])).toBeNull();
    const ckpt = tinyCheckpoint({ seed: 6 });
    const files = pushFiles(ckpt, checkpointToFiles(ckpt));
    expect(files.has(LOSS_CURVE_FILE)).toBe(false);
    const card = text(files.get(MODEL_CARD_FILE));
    expect(card).toContain('Not described by the person who trained it.');
    expect(card).not.toContain('## Results');
  });

  it('pushes from the command line with HF_ENDPOINT and HF_TOKEN', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-push-'));
    try {
      await writeCheckpointFolder(join(dir, 'model'), checkpointToFiles(tinyCheckpoint({ seed: 7, training: true })));
      const run = (args: string[], env: Record<string, string>) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn('node', ['bin/hearth.js', 'push', ...args], {
            cwd: new URL('../../', import.meta.url).pathname,
            env: { ...process.env, HF_HOME: join(dir, 'hf'), ...env },
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, stdout, stderr }));
        });
      const model = join(dir, 'model');
      const missing = await run(['--model', model, '--repo', 'me/cli'], { HF_ENDPOINT: hub.url, HF_TOKEN: '' });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/a push needs a token with write access/);
      const ok = await run(['--model', model, '--repo', 'me/cli', '--data_summary', 'notes'], {
        HF_ENDPOINT: hub.url,
        HF_TOKEN: hub.token,
      });
      expect(ok.stderr).toBe('push: creating\npush: preuploading\npush: uploadingLargeFiles\npush: committing\n');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`^pushed 6 files to ${hub.url}/me/cli `));
      expect(text(hub.repos.get('me/cli')!.files.get(MODEL_CARD_FILE))).toContain('## Training data\n\nnotes');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
