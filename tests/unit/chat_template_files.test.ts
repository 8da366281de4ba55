// A chat template travels with the model: a checkpoint's tokenizer files carry it as save_pretrained writes them
// (tokenizer_config.json, special_tokens_map.json, chat_template.jinja), and a new model whose tokenizer has none
// can be given one.
import { describe, expect, it } from 'vitest';
import { tokenizerFiles, tokenizerOf } from '../../src/core/checkpoint/tokenizer_files.ts';
import { chatFormatterOf, chatTokens, DEFAULT_CHAT_TEMPLATE, withChatTemplate } from '../../src/core/data/chat.ts';
import { charTokenizerFrom, loadGpt2Tokenizer } from '../../src/core/tokenizer/index.ts';
import { qwen3 } from './sft_fixtures.ts';

const CONVERSATION = [
  { role: 'user', content: 'What is 2+2?' },
  { role: 'assistant', content: 'Four.' },
];

describe('chat templates in checkpoint files', () => {
  it("writes a chat model's tokenizer_config.json, special_tokens_map.json and chat_template.jinja", () => {
    const { tokenizer, chat } = qwen3();
    const files = tokenizerFiles(tokenizer);
    expect(files['chat_template.jinja']).toBe(chat.template);
    const config = JSON.parse(files['tokenizer_config.json']!);
    expect(config.chat_template).toBe(chat.template);
    expect(config.eos_token).toBe('<|im_end|>');
    const special = JSON.parse(files['special_tokens_map.json']!);
    expect(special.eos_token).toBe('<|im_end|>');
    // read back, the tokenizer renders and ends turns as before
    const again = chatFormatterOf(tokenizerOf(files))!;
    expect(again.endOfTurnToken).toBe('<|im_end|>');
    const opts = { addGenerationPrompt: true };
    expect(again.apply(CONVERSATION, opts)).toBe(chat.apply(CONVERSATION, opts));
    expect(again.encode(again.apply(CONVERSATION, opts))).toEqual(chat.encode(chat.apply(CONVERSATION, opts)));
  });

  it("keeps a tokenizer without a config as tokenizer.json alone (GPT-2's)", async () => {
    const files = tokenizerFiles(await loadGpt2Tokenizer());
    expect(Object.keys(files)).toEqual(['tokenizer.json']);
  });

  it("gives GPT-2's tokenizer the default template, ending each turn with <|endoftext|>, and keeps it in its files", async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const withTemplate = withChatTemplate(gpt2, DEFAULT_CHAT_TEMPLATE)!;
    const chat = chatFormatterOf(withTemplate)!;
    expect(chat.endOfTurnToken).toBe('<|endoftext|>');
    expect(chat.apply(CONVERSATION, { addGenerationPrompt: false })).toBe(
      '<|im_start|>user\nWhat is 2+2?<|endoftext|><|im_start|>assistant\nFour.<|endoftext|>',
    );
    expect(chat.apply(CONVERSATION.slice(0, 1), { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\nWhat is 2+2?<|endoftext|><|im_start|>assistant\n',
    );
    // the same ids as GPT-2's own tokenizer for text
    expect(withTemplate.encode('Hello world')).toEqual(gpt2.encode('Hello world'));
    // the assistant's turn is its content and the end-of-text that closes it
    const t = chatTokens(CONVERSATION, chat);
    const counted = t.ids.filter((_, i) => t.assistantMask[i]);
    expect(withTemplate.decode(counted)).toBe('Four.<|endoftext|>');
    const again = chatFormatterOf(tokenizerOf(tokenizerFiles(withTemplate)))!;
    expect(again.template).toBe(DEFAULT_CHAT_TEMPLATE);
    expect(withChatTemplate(charTokenizerFrom('abc'), DEFAULT_CHAT_TEMPLATE)).toBeNull();
  });
});
