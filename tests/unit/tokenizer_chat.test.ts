// tokenizer_config.json and generation_config.json: chat templates rendered as transformers.js renders them (its
// fork @lenml/tokenizers reading the same files), template switches, and every end-of-text id a model lists.
import { Template } from '@huggingface/jinja';
import { TokenizerLoader } from '@lenml/tokenizers';
import { describe, expect, it } from 'vitest';
import { PipelineTokenizer, tokenizerFromHfFiles, type ChatMessage } from '../../src/core/tokenizer/index.ts';
import { realTokenizerFiles } from './tokenizer_fixtures.ts';

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: '今天天气很好,我们可以去哪里?' },
  { role: 'assistant', content: 'We could go to the park.' },
  { role: 'user', content: "What's the weather tomorrow?" },
];

describe('chat templates', () => {
  it.each(['llama3', 'qwen3'] as const)(
    "%s: a conversation with add_generation_prompt renders as transformers' apply_chat_template renders it",
    (name) => {
      const files = realTokenizerFiles(name);
      const ours = tokenizerFromHfFiles(files) as PipelineTokenizer;
      const config = JSON.parse(files.tokenizerConfig) as Record<string, unknown>;
      // transformers.js (its fork) for Llama 3; its bundled Jinja 0.2 cannot parse Qwen 3's template, which is
      // rendered with the context transformers' apply_chat_template passes (conversation, switch, special tokens).
      const oracle =
        name === 'llama3'
          ? TokenizerLoader.fromPreTrained({
              tokenizerJSON: JSON.parse(files.tokenizerJson),
              tokenizerConfig: config,
            })
          : null;
      const render = (addGenerationPrompt: boolean) =>
        oracle
          ? (oracle.apply_chat_template(CONVERSATION, {
              tokenize: false,
              add_generation_prompt: addGenerationPrompt,
            }) as string)
          : new Template(config.chat_template as string).render({
              messages: CONVERSATION,
              add_generation_prompt: addGenerationPrompt,
              eos_token: config.eos_token,
              pad_token: config.pad_token,
            });
      for (const addGenerationPrompt of [true, false])
        expect(ours.applyChatTemplate(CONVERSATION, { addGenerationPrompt })).toBe(render(addGenerationPrompt));
      // The ids of a chat are the rendered text's, with no template tokens added again.
      const text = ours.applyChatTemplate(CONVERSATION, { addGenerationPrompt: true });
      expect(ours.encodeChat(CONVERSATION, { addGenerationPrompt: true })).toEqual(
        ours.encode(text, { addSpecialTokens: false }),
      );
    },
    60_000,
  );

  it('writes the formats the models document', () => {
    const qwen = tokenizerFromHfFiles(realTokenizerFiles('qwen3')) as PipelineTokenizer;
    expect(qwen.applyChatTemplate(CONVERSATION.slice(1, 2), { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\n今天天气很好,我们可以去哪里?<|im_end|>\n<|im_start|>assistant\n',
    );
    const llama = tokenizerFromHfFiles(realTokenizerFiles('llama3')) as PipelineTokenizer;
    expect(llama.applyChatTemplate(CONVERSATION.slice(1, 2), { addGenerationPrompt: true })).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n今天天气很好,我们可以去哪里?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const llama2 = tokenizerFromHfFiles(realTokenizerFiles('llama2')) as PipelineTokenizer;
    expect(() => llama2.applyChatTemplate(CONVERSATION)).toThrow(/no chat template/);
  }, 60_000);
});

describe('tokenizer_config.json and generation_config.json', () => {
  it('takes every eos_token_id generation_config.json lists', () => {
    const files = realTokenizerFiles('llama3');
    const t = tokenizerFromHfFiles({ ...files, generationConfig: { eos_token_id: [128001, 128008, 128009] } });
    expect(t.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(t.eosTokenId).toBe(128001); // tokenizer_config.json's eos_token
    expect(t.summary.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(() => tokenizerFromHfFiles({ ...files, generationConfig: { eos_token_id: 'x' } })).toThrow(
      /generation_config\.json: eos_token_id: must be a token id or a list of them/,
    );
  }, 60_000);

  it('lets add_bos_token / add_eos_token switch the template of Llama-family tokenizers, as transformers does', () => {
    const files = realTokenizerFiles('llama2');
    const config = JSON.parse(files.tokenizerConfig) as Record<string, unknown>;
    const withEos = tokenizerFromHfFiles({
      ...files,
      tokenizerConfig: JSON.stringify({ ...config, add_bos_token: false, add_eos_token: true }),
    });
    const plain = tokenizerFromHfFiles(files);
    const body = plain.encode('Hello', { addSpecialTokens: false });
    expect(plain.encode('Hello')).toEqual([1, ...body]);
    expect(withEos.encode('Hello')).toEqual([...body, 2]);
    expect(withEos.encode('Hello', { addSpecialTokens: false })).toEqual(body);
  }, 60_000);

  it('reads tokens written as AddedToken objects, special_tokens_map.json and model_max_length', () => {
    const files = realTokenizerFiles('llama2');
    const t = tokenizerFromHfFiles({
      tokenizerJson: files.tokenizerJson,
      tokenizerConfig: JSON.stringify({ model_max_length: 4096, eos_token: { content: '</s>', __type: 'AddedToken' } }),
      specialTokensMap: JSON.stringify({ bos_token: '<s>', eos_token: '<unk>', pad_token: '<unk>' }),
    });
    expect(t.summary.maxLength).toBe(4096);
    expect(t.summary.special.map((s) => [s.role, s.content, s.id])).toEqual([
      ['bos', '<s>', 1],
      ['eos', '</s>', 2],
      ['pad', '<unk>', 0],
      ['unk', '<unk>', 0],
    ]);
  }, 60_000);
});
