// A model's chat template rendered as transformers' apply_chat_template renders it: Jinja (@huggingface/jinja, the
// engine transformers.js uses) with the conversation, add_generation_prompt and the special tokens by name.
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** end with the start of the assistant's turn, for generating a reply */
  addGenerationPrompt?: boolean;
  /** tool descriptions, for templates that take them */
  tools?: unknown[];
  /** further template variables (enable_thinking, ...) */
  extra?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

export function renderChatTemplate(
  template: string,
  messages: readonly ChatMessage[],
  specialTokens: Record<string, string>,
  options: ChatTemplateOptions = {},
): string {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`tokenizer_config.json: chat_template: not a template Jinja can read (${(e as Error).message})`, {
        cause: e,
      });
    }
    compiled.set(template, t);
  }
  return t.render({
    messages,
    add_generation_prompt: options.addGenerationPrompt ?? false,
    ...(options.tools ? { tools: options.tools } : {}),
    ...specialTokens,
    ...options.extra,
  });
}
