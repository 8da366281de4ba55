// Fine-tuning on chat records as a person does it, in Chromium with WebGPU on SwiftShader: drop a small JSON Lines
// file of conversations and a broken one, read the per-file counts and the refusal, see the first rows with the
// assistant's tokens marked, train the toy preset (GPT-2's tokenizer, which gets the default chat template) a few
// steps, and chat with it.
import { describe, expect, it } from 'vitest';
import { dropFiles, screenshot, setArguments, trainToTheEnd, usePage } from './page.ts';

const CHATS = Array.from({ length: 8 }, (_, i) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: `hi ${i}` },
      { role: 'assistant', content: `hello ${i}` },
    ],
  }),
).join('\n');

describe('fine-tuning on chat records in Chromium', () => {
  const ui = usePage({ gpu: true });

  it('prepares the records with counts and a preview, trains a few steps, and chats', async () => {
    const { page } = ui;
    await page.getByTestId('preset-toy').click();
    await dropFiles(page, '[data-testid="dropzone"]', [
      { name: 'chats.jsonl', content: CHATS + '\n' },
      { name: 'broken.jsonl', content: '{"messages": "not a list"}\n{"oops"\n' },
    ]);
    await page.getByTestId('sft-assistant-only').check();

    const rows = page.getByTestId('file-row');
    const chats = rows.filter({ hasText: 'chats.jsonl' });
    await chats.getByTestId('file-sft-counts').filter({ hasText: '8 of 8 records made examples' }).waitFor({
      timeout: 120_000,
    });
    const broken = rows.filter({ hasText: 'broken.jsonl' });
    await broken.getByTestId('file-refusal').waitFor({ timeout: 60_000 });
    expect(await broken.getByTestId('file-refusal').innerText()).toMatch(/line 2|record/);

    // The first row as the model sees it: the whole conversation, the assistant's reply marked for the loss.
    const preview = page.getByTestId('sft-preview');
    const first = preview.getByTestId('sft-preview-row').first();
    expect(await first.innerText()).toContain('<|im_start|>user\nhi 0<|endoftext|><|im_start|>assistant\nhello 0');
    expect(await first.getByTestId('loss-tokens').allInnerTexts()).toEqual(['hello 0<|endoftext|>']);
    await screenshot(page, 'sft-preview');

    await setArguments(page, { max_steps: '3', per_device_train_batch_size: '2', learning_rate: '0.01' });
    await trainToTheEnd(page);

    await page.getByTestId('chat-mode').check();
    await page
      .locator('#gen-do_sample')
      .uncheck()
      .catch(() => undefined);
    await page.getByTestId('prompt').fill('hi 3');
    await page.locator('#gen-max_new_tokens').fill('6');
    await page.getByTestId('generate').click();
    await page.getByTestId('chat-reply').first().waitFor({ timeout: 120_000 });
    await page.getByTestId('generate').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('chat-user').first().innerText()).toBe('hi 3');
    // the reply is the model's alone: the template's text is not shown
    expect(await page.getByTestId('chat-reply').first().innerText()).not.toContain('<|im_start|>');
    expect(await page.getByTestId('generation-message').innerText()).toMatch(/\d+ tokens/);
    await screenshot(page, 'sft-chat');
    expect(ui.errors).toEqual([]);
  });
});
