// Pushing a checkpoint from the page to the Hub: a local server that takes uploads as the Hub's API does, reached as
// the page's Hub mirror (its security policy allows that one origin after a reload). A wrong token is named, a right
// one pushes the model with its card, and the token stays in the page's memory unless the user asks to keep it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointToZip } from '../../src/core/checkpoint/archive.ts';
import { HUB_MIRROR_KEY } from '../../src/ui/content_security_policy.ts';
import { HUB_TOKEN_KEY } from '../../src/ui/hub_mirror.ts';
import { concatBytes } from '../../src/core/util/bytes.ts';
import { tinyCheckpoint } from '../unit/checkpoint_fixtures.ts';
import { startUploadHub, type UploadHub } from '../unit/hub_upload_server.ts';
import { screenshot, usePage } from './page.ts';

describe('pushing a checkpoint to the Hub from the page', () => {
  const ui = usePage();
  let hub: UploadHub;
  const ckpt = tinyCheckpoint({ seed: 3 });

  // The mirror setting takes effect at the next load, as in the page.
  beforeAll(async () => {
    hub = await startUploadHub();
    await ui.page.evaluate(([key, url]) => localStorage.setItem(key, url), [HUB_MIRROR_KEY, hub.url]);
    await ui.page.reload();
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('names a wrong token, then pushes with a right one; the token is kept only when asked', async () => {
    const { page } = ui;
    const zip = concatBytes(checkpointToZip(ckpt, 'poems'));
    await page
      .getByTestId('checkpoint-zip-input')
      .setInputFiles({ name: 'poems.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await page.getByTestId('checkpoint-row').filter({ hasText: 'poems' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Push poems to the Hugging Face Hub' }).click();
    const dialog = page.getByTestId('push-dialog');
    expect(await dialog.innerText()).toContain(`Pushing to the mirror ${hub.url}.`);
    await dialog.getByTestId('push-repo').fill('me/poems');
    await dialog.getByTestId('push-token').fill('hf_wrong');
    await dialog.getByLabel('Training data (for the model card)').fill('poems I wrote');
    await dialog.getByTestId('push-submit').click();
    const error = page.getByTestId('checkpoints-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.innerText()).toBe(
      'me/poems was not pushed: the Hub refused the token for me/poems (401): give a token with write access to it',
    );
    expect(hub.repos.has('me/poems')).toBe(false);

    await dialog.getByTestId('push-token').fill(hub.token);
    await dialog.getByTestId('push-submit').click();
    const done = page.getByTestId('push-done');
    await done.waitFor({ timeout: 60_000 });
    expect(await done.innerText()).toBe(`Pushed 5 files to ${hub.url}/me/poems.`);
    await screenshot(page, 'push-01-pushed');
    const repo = hub.repos.get('me/poems')!;
    expect(repo.private).toBe(true);
    expect([...repo.files.keys()].sort()).toEqual([
      'README.md',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
    ]);
    expect(new TextDecoder().decode(repo.files.get('README.md'))).toContain('## Training data\n\npoems I wrote');
    expect(await page.evaluate((key) => localStorage.getItem(key), HUB_TOKEN_KEY)).toBeNull();

    await dialog.getByTestId('push-remember').check();
    await dialog.getByTestId('push-submit').click();
    await expect.poll(() => repo.commits.length, { timeout: 60_000 }).toBe(2);
    expect(await page.evaluate((key) => localStorage.getItem(key), HUB_TOKEN_KEY)).toBe(hub.token);
  });
});
